"""Throughput of Model.predict_arrow against `newsclass bench`'s "predict, batched" row.

Both classify the same N sentences (data/train.csv's texts repeated), with a built-in model
(`--model fast`, the default here: TF-IDF only, the model the README's table measured when it
was the default; or `--model default`, the encoder model, hundreds of times slower), in alternating
rounds; prints each round, the medians and their ratio.

    target/pyenv/bin/python python/benches/arrow_vs_cli.py [--n 100000] [--rounds 5] [--model fast]
"""

import argparse
import csv
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import pyarrow as pa

import newsclass

ROOT = Path(__file__).resolve().parents[2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=5, help="timings per round (median)")
    ap.add_argument("--cli", default=str(ROOT / "target" / "release" / "newsclass"))
    ap.add_argument("--model", choices=["fast", "default"], default="fast")
    a = ap.parse_args()
    with open(ROOT / "data" / "train.csv", newline="", encoding="utf-8") as f:
        base = [r["text"] for r in csv.DictReader(f)]
    texts = (base * (a.n // len(base) + 1))[: a.n]
    arr = pa.array(texts, pa.string())
    m = getattr(newsclass.Model, a.model)()
    m.predict_arrow(arr.slice(0, 1000))
    with tempfile.TemporaryDirectory() as d:
        data = Path(d) / "sentences.csv"
        with open(data, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["text"])
            w.writerows([t] for t in texts)
        py_rates, cli_rates = [], []
        for r in range(a.rounds):
            out = subprocess.run(
                [a.cli, "bench", "--model", a.model, "--data", str(data), "--repeat",
                 str(a.repeat)], capture_output=True, text=True, check=True).stdout
            line = next(l for l in out.splitlines() if l.startswith("predict, batched"))
            cli_rates.append(float(line.split()[-1]))
            times = []
            for _ in range(a.repeat):
                s = time.perf_counter()
                m.predict_arrow(arr)
                times.append(time.perf_counter() - s)
            py_rates.append(a.n / statistics.median(times))
            print(f"round {r + 1}: cli bench {cli_rates[-1]:,.0f}/s  predict_arrow {py_rates[-1]:,.0f}/s")
    py, cli = statistics.median(py_rates), statistics.median(cli_rates)
    print(f"median over {a.rounds} rounds, {a.n:,} sentences: newsclass bench 'predict, batched' "
          f"{cli:,.0f}/s, predict_arrow {py:,.0f}/s, ratio {py / cli:.2f}")


if __name__ == "__main__":
    main()
