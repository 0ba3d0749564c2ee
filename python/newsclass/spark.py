"""Classify an archive of articles on Apache Spark, sentence by sentence.

Each Spark partition is split and classified by newsclass in the Python worker through
``DataFrame.mapInArrow``: Arrow record batches in, Arrow record batches out, no per-row Python
objects. The model travels with the job as bytes (a broadcast variable), so executors need no
shared file system; each Python worker process loads it once and keeps it.

Command line (what ``spark-submit`` runs)::

    spark-submit --master local[2] -m newsclass.spark ...   # or: python -m newsclass.spark
    python -m newsclass.spark --input articles.parquet --output sentences.parquet \
        [--model my.newsclass] [--id-column id] [--text-column text] [--format parquet|json|csv]

Library::

    from newsclass.spark import classify_archive
    classify_archive(spark, "articles.parquet", "sentences.parquet")
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from typing import Dict, Iterator, List, Optional

import newsclass

__all__ = ["classify_archive", "classify_dataframe", "output_schema"]

# Models loaded in this Python worker process, by the SHA-256 of their bytes.
_MODELS: Dict[str, "newsclass.Model"] = {}


def _model_from_bytes(data: bytes) -> "newsclass.Model":
    key = hashlib.sha256(data).hexdigest()
    model = _MODELS.get(key)
    if model is None:
        model = newsclass.Model.from_bytes(data)
        _MODELS[key] = model
    return model


def output_schema(model: "newsclass.Model", id_type: str = "string") -> str:
    """The DDL schema of the output rows: the article id, the sentence number (from 1), its
    character offsets in the article, its text, and per head the label and its probability."""
    cols = [
        f"id {id_type}",
        "sentence int",
        "start long",
        "end long",
        "text string",
    ]
    for head in model.heads:
        cols.append(f"`{head}` string")
        cols.append(f"`{head}_score` float")
    return ", ".join(cols)


def classify_dataframe(df, model: Optional["newsclass.Model"] = None, id_column: str = "id",
                       text_column: str = "text"):
    """One row per sentence of every article of ``df`` (columns ``id_column`` and ``text_column``),
    classified by ``model`` (default: the embedded default model). Lazy, like any DataFrame."""
    import pyarrow as pa

    if model is None:
        model = newsclass.Model.default()
    for col in (id_column, text_column):
        if col not in df.columns:
            raise ValueError(
                f"the archive has no column {col!r} (columns: {', '.join(df.columns)}); "
                f"name the right one with --id-column / --text-column "
                f"(id_column= / text_column= in Python)"
            )
    id_type = df.schema[id_column].dataType.simpleString()
    schema = output_schema(model, id_type)
    spark = df.sparkSession
    shipped = spark.sparkContext.broadcast(model.to_bytes())
    heads = list(model.heads)

    def classify_batches(batches: Iterator["pa.RecordBatch"]) -> Iterator["pa.RecordBatch"]:
        m = _model_from_bytes(shipped.value)
        for batch in batches:
            ids = batch.column(0)
            texts = batch.column(1)
            table = m.classify_articles_arrow(texts)
            article = table.column("article").combine_chunks()
            columns = [
                ids.take(article),
                table.column("sentence"),
                table.column("start"),
                table.column("end"),
                table.column("text"),
            ]
            for head in heads:
                columns.append(table.column(head).cast(pa.string()))
                columns.append(table.column(f"{head}_score"))
            names = ["id", "sentence", "start", "end", "text"]
            for head in heads:
                names += [head, f"{head}_score"]
            yield pa.RecordBatch.from_arrays(
                [c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in columns],
                names=names,
            )

    return df.select(id_column, text_column).mapInArrow(classify_batches, schema)


def _reader(spark, path: str, fmt: Optional[str]):
    fmt = fmt or _format_of(path)
    if fmt == "parquet":
        return spark.read.parquet(path)
    if fmt == "json":
        return spark.read.json(path)
    if fmt == "csv":
        return spark.read.option("header", True).option("multiLine", True).option(
            "escape", '"').csv(path)
    raise ValueError(f"unknown input format {fmt!r}; use parquet, json or csv")


def _format_of(path: str) -> str:
    p = path.rstrip("/").lower()
    for ext, fmt in ((".parquet", "parquet"), (".jsonl", "json"), (".json", "json"),
                     (".csv", "csv")):
        if p.endswith(ext):
            return fmt
    raise ValueError(
        f"cannot tell the format of {path!r} from its name; give --format parquet|json|csv")


def classify_archive(spark, input_path: str, output_path: str,
                     model: Optional["newsclass.Model"] = None, id_column: str = "id",
                     text_column: str = "text", input_format: Optional[str] = None,
                     mode: str = "error") -> None:
    """Read articles from ``input_path`` (Parquet, JSON lines or CSV with a header), classify
    every sentence and write one row per sentence to ``output_path`` as Parquet."""
    df = _reader(spark, input_path, input_format)
    classify_dataframe(df, model, id_column, text_column).write.mode(mode).parquet(output_path)


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m newsclass.spark",
        description="Classify every sentence of an archive of articles with newsclass on Spark "
                    "and write one row per sentence as Parquet.")
    p.add_argument("--input", required=True, help="articles: Parquet, JSON lines or CSV")
    p.add_argument("--output", required=True, help="output folder (Parquet)")
    p.add_argument("--model", help="model file (default: the embedded default model)")
    p.add_argument("--id-column", default="id")
    p.add_argument("--text-column", default="text")
    p.add_argument("--format", choices=["parquet", "json", "csv"], help="input format")
    p.add_argument("--master", help="Spark master when not set by spark-submit, e.g. local[2]")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    a = p.parse_args(argv)
    # Python workers run this interpreter (with newsclass installed) unless told otherwise.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("newsclass")
    if a.master:
        builder = builder.master(a.master)
    try:
        model = newsclass.Model.load(a.model) if a.model else newsclass.Model.default()
    except (OSError, ValueError) as e:
        print(f"newsclass.spark: error: {e}", file=sys.stderr)
        return 2
    spark = builder.getOrCreate()
    try:
        classify_archive(spark, a.input, a.output, model, a.id_column, a.text_column, a.format,
                         "overwrite" if a.overwrite else "error")
    except ValueError as e:
        print(f"newsclass.spark: error: {e}", file=sys.stderr)
        return 2
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
