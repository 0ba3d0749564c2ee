#!/usr/bin/env bash
# Run every fuzz target for SECONDS each (default 60), one after the other, and print the
# executions and wall time per target.
#
#   fuzz/run.sh 600               # ten minutes per target
#   fuzz/run.sh 600 readers       # only the targets named
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). cargo-fuzz wants a nightly compiler; on the
# stable toolchain RUSTC_BOOTSTRAP=1 (set below) unlocks the flags it passes. Each target runs as
# one libFuzzer process (-jobs=1 -workers=1, RAYON_NUM_THREADS=1) without a sanitizer: the library
# is safe Rust, and the debug assertions of cargo-fuzz builds catch integer overflow.
#
# fuzz/corpus/TARGET holds the corpus (seeded from the repository's fixtures), fuzz/artifacts/
# TARGET the crashes, fuzz/logs/TARGET/fuzz-0.log libFuzzer's output. A crash input belongs, once
# fixed, in fuzz/regressions/TARGET/, which tests/fuzz_regressions.rs replays. Not part of CI.
set -euo pipefail

seconds=${1:-60}
shift || true
cd "$(dirname "$0")"
fuzz_dir=$(pwd)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(readers predict model_load)
fi

export RUSTC_BOOTSTRAP=1
export RAYON_NUM_THREADS=1
sanitizer=${FUZZ_SANITIZER:-none}
triple=$(rustc -vV | sed -n 's/^host: //p')

# Seed corpora from the fixtures (a readers input starts with two spec bytes; 0,0 = CSV with
# header, 1,0 = JSONL) and from the saved crash inputs.
mkdir -p corpus/readers corpus/predict corpus/model_load
for f in ../tests/fixtures/cli/*.csv; do
    { printf '\000\000'; cat "$f"; } >"corpus/readers/seed-$(basename "$f")"
done
{ printf '\001\000'; printf '{"text": "Talks resumed.", "topic": "diplomacy", "stance": 1}\n'; } \
    >corpus/readers/seed-jsonl
cp ../tests/fixtures/cli/article.txt corpus/predict/seed-article.txt
cp ../data/example-article.txt corpus/predict/seed-example-article.txt
cp ../tests/fixtures/model-v1.newsclass corpus/model_load/seed-model-v1.newsclass
for t in readers predict model_load; do
    if [ -d "regressions/$t" ]; then cp regressions/"$t"/* "corpus/$t/" 2>/dev/null || true; fi
done

cargo fuzz build -s "$sanitizer"

printf '%-12s %14s %10s %10s  %s\n' target executions seconds exec/s result
status=0
for t in "${targets[@]}"; do
    rm -rf "logs/$t"
    mkdir -p "logs/$t" "artifacts/$t"
    start=$(date +%s)
    # -jobs runs the fuzzer in a child process that logs to fuzz-0.log in the working directory.
    if (cd "logs/$t" && "$fuzz_dir/target/$triple/release/$t" "$fuzz_dir/corpus/$t" \
        -artifact_prefix="$fuzz_dir/artifacts/$t/" -max_total_time="$seconds" \
        -jobs=1 -workers=1 -rss_limit_mb=4096 -timeout=30 -print_final_stats=1 \
        >parent.log 2>&1) && ! grep -q 'ERROR: libFuzzer' "logs/$t/fuzz-0.log"; then
        result=ok
    else
        result="CRASH: see fuzz/logs/$t/fuzz-0.log and fuzz/artifacts/$t/"
        status=1
    fi
    end=$(date +%s)
    secs=$((end - start))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "logs/$t/fuzz-0.log" | tail -1)
    printf '%-12s %14s %10s %10s  %s\n' "$t" "${execs:-?}" "$secs" \
        "$((${execs:-0} / (secs > 0 ? secs : 1)))" "$result"
done
exit $status
