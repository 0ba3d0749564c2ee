#!/usr/bin/env bash
# Compare newsclass with scikit-learn and fastText on the same data.
#
#   benches/compare/run.sh [--runs N] [--datasets ag_news,ag_news_31k,ag_news_full,20newsgroups,newsclass-data,scaling]
#                          [--tools newsclass,sklearn-saga,...] [--quick] [--c 10] [--no-build] [--keep-going]
#
# Prepares /usr/bin/time and a cached Python venv (target/compare/venv), then runs
# benches/compare/compare.py, which builds newsclass (cargo build --release), runs
# every tool round-robin and writes target/compare/results/<UTC stamp>/results.{md,json}
# plus target/compare/results/latest.{md,json}. Everything it writes is under target/compare/.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="$ROOT/target/compare"
VENV="$OUT/venv"
REQ="$HERE/requirements.txt"

say() { printf '[run.sh] %s\n' "$*"; }
die() { printf '[run.sh] ERROR: %s\n' "$*" >&2; exit 1; }

cd "$ROOT"
mkdir -p "$OUT"

# --- GNU time (for peak RSS) ---------------------------------------------------
if [[ ! -x /usr/bin/time ]]; then
    say "/usr/bin/time missing: installing the 'time' package"
    SUDO=""
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null || die "/usr/bin/time missing and not root (install GNU time: apt-get install time)"
        SUDO="sudo"
    fi
    # refresh the package lists only if apt does not know the package yet
    if ! apt-cache policy time 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        $SUDO apt-get update -q
    fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q time
    [[ -x /usr/bin/time ]] || die "installing 'time' did not provide /usr/bin/time"
fi
time_out="$(/usr/bin/time -v true 2>&1 || true)"
[[ "$time_out" == *"Maximum resident set size"* ]] \
    || die "/usr/bin/time is not GNU time (need -v with 'Maximum resident set size')"

# --- Python venv with the pinned peers -----------------------------------------
command -v python3 >/dev/null || die "python3 not found"
if [[ ! -x "$VENV/bin/python" ]]; then
    say "creating venv $VENV"
    python3 -m venv "$VENV" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
fi
STAMP="$VENV/.requirements.sha256"
want="$(sha256sum "$REQ" | cut -d' ' -f1)"
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$want" ]]; then
    say "installing pinned peers from $REQ"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ" \
        || die "pip install -r $REQ failed"
    echo "$want" > "$STAMP"
fi
"$VENV/bin/python" -c 'import sklearn, numpy, fasttext, joblib' \
    || die "the venv $VENV is broken; delete it and rerun"

# --- run ------------------------------------------------------------------------
# The exact command, for the results header.
COMPARE_COMMAND="benches/compare/run.sh"
for arg in "$@"; do
    if [[ "$arg" =~ ^[A-Za-z0-9_./,=:+-]+$ ]]; then COMPARE_COMMAND+=" $arg"
    else COMPARE_COMMAND+=" $(printf '%q' "$arg")"; fi
done
export COMPARE_COMMAND
export PYTHONDONTWRITEBYTECODE=1   # keep __pycache__ out of the repo tree
exec "$VENV/bin/python" "$HERE/compare.py" "$@"
