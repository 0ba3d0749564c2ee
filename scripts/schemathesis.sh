#!/usr/bin/env bash
# Schema check of `newsclass serve`: run schemathesis (from PyPI, in a venv of its own) against
# the server's /openapi.json, bounded, with every check. Exit 0 when every check passes, 1 when
# one fails, 0 with a "skip:" message when Python, venv or pip cannot provide schemathesis.
#
#   scripts/schemathesis.sh [--max-examples N] [--binary PATH]
#
# Without --binary it builds and runs target/release/newsclass (`cargo build --release`); with
# --binary it runs that binary as it is (scripts/test-all passes the one `cargo test --release
# --all-features` just built, which a default-features build would rebuild).
# Environment: SCHEMATHESIS_VENV (default target/schemathesis-venv), SCHEMATHESIS_VERSION
# (a pip requirement such as ==4.32.5; default: the newest).
set -euo pipefail
cd "$(dirname "$0")/.."

max_examples=200
binary=""
while [ $# -gt 0 ]; do
  case "$1" in
    --max-examples) max_examples="$2"; shift 2 ;;
    --binary) binary="$2"; shift 2 ;;
    *) echo "usage: $0 [--max-examples N] [--binary PATH]" >&2; exit 2 ;;
  esac
done

venv="${SCHEMATHESIS_VENV:-target/schemathesis-venv}"
case "$venv" in /*) ;; *) venv="$PWD/$venv" ;; esac
skip() { echo "skip: $*"; exit 0; }

if [ ! -x "$venv/bin/st" ]; then
  command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"
  python3 -m venv "$venv" >/dev/null 2>&1 || skip "python3 cannot create a venv (python3-venv missing?)"
  "$venv/bin/python" -m pip --version >/dev/null 2>&1 || skip "pip is not available in the venv"
  "$venv/bin/python" -m pip install -q "schemathesis${SCHEMATHESIS_VERSION:-}" \
    || skip "pip could not install schemathesis (no package index reachable?)"
fi
echo "schemathesis: $("$venv/bin/st" --version)"

if [ -z "$binary" ]; then
  binary=target/release/newsclass
  cargo build --release --quiet
fi
[ -x "$binary" ] || { echo "no executable newsclass at $binary" >&2; exit 1; }

# One bounded run against a fresh server started with the given flags; extra schemathesis
# options after "--". Prints a line of counts; returns schemathesis' status.
run_against() {
  local flags=() extra=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do flags+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  extra=("$@")
  local log report pid addr="" status=0
  log="$(mktemp)"
  report="$(mktemp -d)"
  "$binary" serve --addr 127.0.0.1:0 --quiet "${flags[@]}" 2>"$log" &
  pid=$!
  for _ in $(seq 1 300); do
    addr="$(sed -n 's|^newsclass: listening on http://||p' "$log")"
    [ -n "$addr" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$addr" ]; then
    cat "$log" >&2
    echo "the server did not start" >&2
    kill -TERM "$pid" 2>/dev/null || true
    return 1
  fi
  echo "== server: newsclass serve ${flags[*]} on http://$addr"
  # Run in the report folder: schemathesis keeps a cache (.schemathesis/) where it runs.
  (cd "$report" && "$venv/bin/st" run "http://$addr/openapi.json" \
    --checks all \
    --max-examples "$max_examples" \
    --seed 13 \
    --request-timeout 30 \
    --no-color \
    --report junit --report-junit-path "$report/junit.xml" \
    "${extra[@]}") \
    || status=$?
  if [ -f "$report/junit.xml" ]; then
    # One line of counts for logs and CI.
    python3 - "$report/junit.xml" <<'PY' || true
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
t = sum(int(s.get("tests", 0)) for s in suites)
f = sum(int(s.get("failures", 0)) for s in suites)
e = sum(int(s.get("errors", 0)) for s in suites)
k = sum(int(s.get("skipped", 0)) for s in suites)
print(f"schemathesis: {t} operations tested, {f} failed, {e} errors, {k} skipped")
PY
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "the server died during the run:" >&2
    cat "$log" >&2
    status=1
  fi
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$log" "$report"
  return "$status"
}

status=0
# Without a token, and with one (which also checks that a missing or wrong token is refused).
run_against || status=1
token="schemathesis-$$"
run_against --token "$token" -- -H "Authorization: Bearer $token" || status=1
if [ "$status" -eq 0 ]; then echo "schemathesis: all checks passed"; else echo "schemathesis: FAILED"; fi
exit "$status"
