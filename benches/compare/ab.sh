#!/usr/bin/env bash
# A/B timing of two newsclass binaries on the same data, alternating A and B in every round:
# train wall time and peak RSS, predict wall time, and the accuracy each model reaches.
#
#   benches/compare/ab.sh OLD_BINARY NEW_BINARY [ROUNDS]      (default 5 rounds)
#
# Data: AG News train_20k.csv -> test.csv from ../shared/datasets (skipped with a message when
# absent), with the comparison harness's settings (word 1-2-grams, min_df 2, sublinear tf, C=10).
# Prints medians and min-max per binary and the ratio new / old. Needs GNU time (/usr/bin/time).
set -euo pipefail
A=${1:?usage: ab.sh OLD_BINARY NEW_BINARY [ROUNDS]}
B=${2:?usage: ab.sh OLD_BINARY NEW_BINARY [ROUNDS]}
ROUNDS=${3:-5}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
AG="$ROOT/../shared/datasets/ag_news"
if [[ ! -f "$AG/train_20k.csv" || ! -f "$AG/test.csv" ]]; then
    echo "ab.sh: $AG/train_20k.csv or test.csv is missing; nothing to measure" >&2
    exit 0
fi
[[ -x /usr/bin/time ]] || { echo "ab.sh: GNU time (/usr/bin/time) is required" >&2; exit 2; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
FLAGS=(--no-header --text-column 2,3 --label-columns 1)
run() { # tag binary round
    local tag=$1 bin=$2
    /usr/bin/time -f "%e %M" -o "$WORK/t" "$bin" train --quiet --data "$AG/train_20k.csv" "${FLAGS[@]}" \
        --model "$WORK/$tag.newsclass" --ngram-range 1,2 --min-df 2 --sublinear-tf --c 10
    read -r tw rss < "$WORK/t"
    /usr/bin/time -f "%e" -o "$WORK/p" "$bin" predict --model "$WORK/$tag.newsclass" --input-format csv \
        --no-header --text-column 2,3 --format csv "$AG/test.csv" > "$WORK/$tag.pred.csv"
    read -r pw < "$WORK/p"
    acc=$("$bin" eval --model "$WORK/$tag.newsclass" --data "$AG/test.csv" "${FLAGS[@]}" | awk '/accuracy/ {print $4; exit}')
    echo "$tag $tw $rss $pw $acc" >> "$WORK/rows"
}
for ((i = 1; i <= ROUNDS; i++)); do
    run A "$A"
    run B "$B"
done
python3 - "$WORK/rows" "$A" "$B" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
def col(tag, i):
    return [float(r[i]) for r in rows if r[0] == tag]
print(f"{len(rows)//2} rounds, alternating; A = {sys.argv[2]}, B = {sys.argv[3]}")
print(f"{'':4} {'train s':>16} {'train RSS MiB':>18} {'predict s':>16} {'accuracy':>9}")
med = {}
for tag in "AB":
    t, r, p, a = (col(tag, i) for i in (1, 2, 3, 4))
    med[tag] = (statistics.median(t), statistics.median(r) / 1024, statistics.median(p))
    print(f"{tag:4} {med[tag][0]:6.3f} ({min(t):.2f}-{max(t):.2f}) {med[tag][1]:8.1f} ({min(r)/1024:.0f}-{max(r)/1024:.0f}) "
          f"{med[tag][2]:6.3f} ({min(p):.2f}-{max(p):.2f}) {a[0]:9.4f}")
print(f"B/A  train {med['B'][0]/med['A'][0]:.3f}x  RSS {med['B'][1]/med['A'][1]:.3f}x  predict {med['B'][2]/med['A'][2]:.3f}x")
PY
