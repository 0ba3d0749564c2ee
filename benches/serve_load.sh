#!/usr/bin/env bash
# Load test of `newsclass serve` on loopback with wrk (Debian package `wrk`): single sentences
# at 32 connections, 100-sentence batches, and a soak that samples the server's RSS. Every run
# is bounded in time and sends traffic to 127.0.0.1 only.
#
#   benches/serve_load.sh [--duration S] [--soak S] [--batch-connections N] [--model FILE] [--log]
#
# --duration: seconds per throughput run (default 30); --soak: seconds of the soak (default
# 300; 0 skips it); --batch-connections: connections of the batch run (default: the number of
# cores; each batch is already spread over every core); --model serves FILE (or a built-in
# model name) instead of the built-in fast model (TF-IDF only: the load figures are for it; the
# default model's sentence encoder embeds a few hundred sentences/s); --log keeps the access log
# on (written to /dev/null) instead of --quiet.
# The goals (issue #13): single sentences >= 10,000 requests/s with p99 <= 10 ms on 2 cores
# shared with wrk; batches >= 150,000 sentences/s; RSS flat over the soak; 0 errors.
# Sentences come from data/train.csv. Prints one JSON line per run and a summary.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=30
soak=300
batch_conns="$(nproc)"
quiet=--quiet
model=(--model fast)
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --soak) soak="$2"; shift 2 ;;
    --batch-connections) batch_conns="$2"; shift 2 ;;
    --model) model=(--model "$2"); shift 2 ;;
    --log) quiet=""; shift ;;
    *) echo "usage: $0 [--duration S] [--soak S] [--batch-connections N] [--model FILE] [--log]" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null 2>&1 || { echo "wrk is not installed: apt-get install -y wrk" >&2; exit 1; }

cargo build --release --quiet
work="$(mktemp -d)"
python3 - data/train.csv "$work" <<'PY'
import csv, json, sys
rows = [r["text"] for r in csv.DictReader(open(sys.argv[1], encoding="utf-8"))]
out = sys.argv[2]
with open(f"{out}/single.jsonl", "w") as f:
    for t in rows[:2000]:
        f.write(json.dumps({"sentences": [t]}) + "\n")
with open(f"{out}/batch.jsonl", "w") as f:
    for i in range(0, 2000, 100):
        f.write(json.dumps({"sentences": rows[i:i + 100]}) + "\n")
PY

target/release/newsclass serve "${model[@]}" --addr 127.0.0.1:0 $quiet 2>"$work/server.log" >/dev/null &
pid=$!
cleanup() { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
addr=""
for _ in $(seq 1 300); do
  addr="$(sed -n 's|^newsclass: listening on http://||p' "$work/server.log" | head -1)"
  [ -n "$addr" ] && break
  sleep 0.1
done
[ -n "$addr" ] || { cat "$work/server.log" >&2; exit 1; }
url="http://$addr"

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

echo "# newsclass serve load, $(date -u +%Y-%m-%dT%H:%M:%SZ), git $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores, model ${model[1]}, access log ${quiet:-on}"
# Warm up (page in the model, grow the pools).
BODIES="$work/single.jsonl" wrk -t2 -c32 -d3s -s benches/serve/load.lua "$url" >/dev/null

run() { # name connections seconds bodies per_request
  local name=$1 conns=$2 secs=$3 bodies=$4 per=$5
  echo "## $name: $conns connections, ${secs}s, load average before: $(loadavg)"
  BODIES="$bodies" SENTENCES_PER_REQUEST="$per" \
    wrk -t2 -c"$conns" -d"${secs}s" --timeout 10s -s benches/serve/load.lua "$url" | tail -1
  echo "   load average after: $(loadavg)"
}
run "single sentences" 32 "$duration" "$work/single.jsonl" 1
run "100-sentence batches" "$batch_conns" "$duration" "$work/batch.jsonl" 100

if [ "$soak" -gt 0 ]; then
  echo "## soak: single sentences, 32 connections, ${soak}s; RSS sampled every 5 s"
  echo "   RSS at start: $(rss_kib) KiB, load average: $(loadavg)"
  BODIES="$work/single.jsonl" SENTENCES_PER_REQUEST=1 \
    wrk -t2 -c32 -d"${soak}s" --timeout 10s -s benches/serve/load.lua "$url" >"$work/soak.out" &
  wrk_pid=$!
  samples=()
  while kill -0 "$wrk_pid" 2>/dev/null; do
    samples+=("$(rss_kib)")
    sleep 5
  done
  wait "$wrk_pid"
  tail -1 "$work/soak.out"
  printf '   RSS samples (KiB): %s\n' "${samples[*]}"
  echo "   RSS at end: $(rss_kib) KiB, load average: $(loadavg)"
fi
echo "## server counters after the runs"
curl -s "$url/metrics" | grep -E '^newsclass_(http_requests_total|http_errors_total|sentences_classified_total)' || true
