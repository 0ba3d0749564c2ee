"""Sentences per second of the two built-in models through the Arrow paths.

For each model (Model.fast(): TF-IDF only; Model.default(): TF-IDF + sentence encoder):
`predict_arrow` on N sentences (data/train.csv's texts, repeated when N is larger) and
`classify_articles_arrow` on the same sentences joined into articles of 20 (rates count the
sentences it splits them into). Median of --repeat timings after one warm-up on 100 rows.

    target/pyenv/bin/python python/benches/models.py [--n 3000] [--repeat 3] [--models fast,default]
"""

import argparse
import csv
import statistics
import time
from pathlib import Path

import pyarrow as pa

import newsclass

ROOT = Path(__file__).resolve().parents[2]


def rate(f, n, repeat):
    times = []
    for _ in range(repeat):
        s = time.perf_counter()
        f()
        times.append(time.perf_counter() - s)
    return n / statistics.median(times), statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--models", default="fast,default")
    ap.add_argument("--threads", type=int, default=None)
    a = ap.parse_args()
    with open(ROOT / "data" / "train.csv", newline="", encoding="utf-8") as f:
        base = [r["text"] for r in csv.DictReader(f)]
    texts = (base * (a.n // len(base) + 1))[: a.n]
    sentences = pa.array(texts, pa.string())
    articles = pa.array([" ".join(texts[i:i + 20]) for i in range(0, len(texts), 20)], pa.string())
    for name in a.models.split(","):
        m = getattr(newsclass.Model, name)()
        m.predict_arrow(sentences.slice(0, 100), threads=a.threads)
        r, t = rate(lambda: m.predict_arrow(sentences, threads=a.threads), a.n, a.repeat)
        print(f"{name:8} predict_arrow           {a.n:>7,} sentences  {t:8.2f} s  {r:>9,.0f} sentences/s",
              flush=True)
        n_split = m.classify_articles_arrow(articles, threads=a.threads).num_rows
        r, t = rate(lambda: m.classify_articles_arrow(articles, threads=a.threads), n_split,
                    a.repeat)
        print(f"{name:8} classify_articles_arrow {n_split:>7,} sentences  {t:8.2f} s  {r:>9,.0f} sentences/s"
              f"  ({len(articles):,} articles)", flush=True)


if __name__ == "__main__":
    main()
