"""Prediction throughput on an archive: newsclass in Spark (mapInArrow) against Spark MLlib's own
pipeline (Tokenizer -> NGram -> HashingTF -> IDF -> LogisticRegression, one per head, trained on
the same data), both in the same local Spark, and the single-process CLI for reference.

    python python/benches/spark_vs_mllib.py [--sentences 1000000] [--master local[2]] [--runs 3]

Needs pyspark, pyarrow and the newsclass package in the running Python, Java 17, and the CLI at
target/release/newsclass. Prints one JSON line per measurement and a summary table; medians of
--runs runs, rounds alternating the systems.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def load_training(path):
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return rows


def make_archive(sentences, n_sentences, per_article, seed, folder):
    """Articles of `per_article` sentences drawn (with a fixed seed) from `sentences`, about
    `n_sentences` sentences in all, as Parquet (id, text) and as one text file for the CLI."""
    rng = random.Random(seed)
    n_articles = n_sentences // per_article
    ids, texts = [], []
    for i in range(n_articles):
        ids.append(f"a{i:07d}")
        texts.append(" ".join(rng.choice(sentences) for _ in range(per_article)))
    pq.write_table(pa.table({"id": ids, "text": texts}), os.path.join(folder, "articles.parquet"))
    with open(os.path.join(folder, "articles.txt"), "w", encoding="utf-8") as f:
        for t in texts:
            f.write(t + "\n\n")
    return n_articles


def fit_mllib(train, heads, max_iter):
    """MLlib's own pipeline: Tokenizer -> NGram(2) -> HashingTF (words and bigrams, 2^18 buckets
    each) -> IDF (minDocFreq 2) -> one multinomial LogisticRegression per head. Returns a
    function from a DataFrame with a `text` column to one with `<head>_pred` columns."""
    from pyspark.ml import Pipeline
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.feature import IDF, HashingTF, NGram, StringIndexer, Tokenizer, VectorAssembler

    features = Pipeline(stages=[
        Tokenizer(inputCol="text", outputCol="words"),
        NGram(n=2, inputCol="words", outputCol="bigrams"),
        HashingTF(inputCol="words", outputCol="tf1", numFeatures=1 << 18),
        HashingTF(inputCol="bigrams", outputCol="tf2", numFeatures=1 << 18),
        VectorAssembler(inputCols=["tf1", "tf2"], outputCol="tf"),
        IDF(inputCol="tf", outputCol="features", minDocFreq=2),
    ]).fit(train)
    ftrain = features.transform(train).cache()
    models = []
    for h in heads:
        indexed = StringIndexer(inputCol=h, outputCol=f"{h}_idx").fit(ftrain).transform(ftrain)
        lr = LogisticRegression(featuresCol="features", labelCol=f"{h}_idx",
                                predictionCol=f"{h}_pred", probabilityCol=f"{h}_prob",
                                rawPredictionCol=f"{h}_raw", family="multinomial",
                                regParam=1e-4, maxIter=max_iter)
        models.append(lr.fit(indexed))

    def transform(df):
        out = features.transform(df)
        for m in models:
            out = m.transform(out)
        return out

    return transform


def timed(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sentences", type=int, default=1_000_000)
    p.add_argument("--per-article", type=int, default=20)
    p.add_argument("--master", default="local[2]")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--model", choices=["fast", "default"], default="fast",
                   help="built-in model (fast: TF-IDF only, what the README's numbers measured "
                        "when it was the default; default: with the sentence encoder, hundreds of times slower)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--mllib-iter", type=int, default=10,
                   help="LogisticRegression maxIter (training only; prediction does not depend on it)")
    a = p.parse_args()

    import newsclass

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession
    from newsclass.spark import classify_dataframe

    rows = load_training(os.path.join(ROOT, "data", "train.csv"))
    sentences = [r["text"] for r in rows]
    heads = ["topic", "stance"]
    work = tempfile.mkdtemp(prefix="newsclass-spark-bench-")
    n_articles = make_archive(sentences, a.sentences, a.per_article, a.seed, work)
    cli = os.path.join(ROOT, "target", "release", "newsclass")

    spark = (SparkSession.builder.master(a.master).appName("newsclass-vs-mllib")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.execution.arrow.maxRecordsPerBatch", "2000")
             .config("spark.driver.memory", "4g")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    load = os.getloadavg()
    print(json.dumps({"archive": {"articles": n_articles, "per_article": a.per_article,
                                  "master": a.master, "cores": os.cpu_count(),
                                  "loadavg": load, "spark": spark.version,
                                  "newsclass": newsclass.__version__}}))

    train = spark.createDataFrame([(r["text"], r["topic"], r["stance"]) for r in rows],
                                  ["text", "topic", "stance"])
    t_fit = time.perf_counter()
    mllib = fit_mllib(train, heads, a.mllib_iter)
    t_fit = time.perf_counter() - t_fit
    # As many partitions as tasks can run (at least 2), so that MLlib uses every core too
    # (newsclass also spreads each batch over the cores itself).
    parts = max(2, spark.sparkContext.defaultParallelism)
    articles = spark.read.parquet(os.path.join(work, "articles.parquet")).repartition(parts).cache()
    articles.count()

    model = getattr(newsclass.Model, a.model)()
    # Sentences as newsclass splits them, for MLlib (which has no sentence splitter) and a count.
    split = classify_dataframe(articles, model).select("id", "sentence", "text").cache()
    n_sentences = split.count()
    mllib_in = split.select("text")

    def run_newsclass():
        classify_dataframe(articles, model).write.format("noop").mode("overwrite").save()

    def run_mllib():
        out = mllib(mllib_in)
        out.select(*[f"{h}_pred" for h in heads]).write.format("noop").mode("overwrite").save()

    def run_cli():
        subprocess.run([cli, "predict", "--model", a.model, "--quiet", "--format", "jsonl",
                        os.path.join(work, "articles.txt")], check=True,
                       stdout=subprocess.DEVNULL)

    systems = {"newsclass in Spark (split + classify)": run_newsclass,
               "MLlib pipeline (classify the split sentences)": run_mllib,
               "newsclass CLI, one process (split + classify)": run_cli}
    times = {k: [] for k in systems}
    for r in range(a.runs):
        for name, f in systems.items():
            t = timed(f)
            times[name].append(t)
            print(json.dumps({"run": r + 1, "system": name, "seconds": round(t, 3),
                              "sentences_per_s": round(n_sentences / t)}))
    spark.stop()
    print(f"\n{n_sentences:,} sentences in {n_articles:,} articles, {a.master}, "
          f"{os.cpu_count()} cores, load average at start {load[0]:.2f}; "
          f"MLlib fit on {len(rows):,} rows in {t_fit:.1f} s ({a.mllib_iter} iterations at most)")
    base = statistics.median(times["MLlib pipeline (classify the split sentences)"])
    print(f"{'system':<48} {'median s':>9} {'sentences/s':>12} {'vs MLlib':>9}")
    for name, ts in times.items():
        m = statistics.median(ts)
        print(f"{name:<48} {m:>9.2f} {n_sentences / m:>12,.0f} {base / m:>8.2f}x")


if __name__ == "__main__":
    sys.exit(main())
