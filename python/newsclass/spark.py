"""Classify an archive of articles on Apache Spark, sentence by sentence.

Each Spark partition is split and classified by newsclass in the Python worker through
``DataFrame.mapInArrow``: Arrow record batches in, Arrow record batches out, no per-row Python
objects. The model travels with the job as bytes (a broadcast variable), so executors need no
shared file system; each Python worker process loads it once and keeps it.

The model is the built-in default one (TF-IDF plus the MiniLM sentence encoder, on the order of
100 sentences/s on 2 cores) unless told otherwise: ``model="fast"`` / ``--model fast`` picks the
built-in TF-IDF-only model (hundreds of times faster), as the command line's ``--model`` does; a
path or a ``newsclass.Model`` picks any other.

Command line (what ``spark-submit`` runs)::

    spark-submit --master local[2] -m newsclass.spark ...   # or: python -m newsclass.spark
    python -m newsclass.spark --input articles.parquet --output sentences.parquet \
        [--model default|fast|my.newsclass] [--id-column id] [--text-column text] [--format parquet|json|csv]

Library::

    from newsclass.spark import classify_archive
    classify_archive(spark, "articles.parquet", "sentences.parquet")
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from typing import Dict, Iterator, List, Optional, Union

import newsclass

__all__ = ["classify_archive", "classify_dataframe", "output_schema", "load_model"]

# The names of the built-in models, as the command line's --model takes them.
BUILTIN_MODELS = ("default", "fast")

# Models loaded in this Python worker process, by the SHA-256 of their bytes.
_MODELS: Dict[str, "newsclass.Model"] = {}


def _model_from_bytes(key: str, shipped) -> "newsclass.Model":
    """The model whose bytes have SHA-256 ``key``: loaded once per worker process from the
    broadcast ``shipped`` (only read on the first task that needs it)."""
    model = _MODELS.get(key)
    if model is None:
        model = newsclass.Model.from_bytes(shipped.value)
        _MODELS[key] = model
    return model


ModelArg = Union["newsclass.Model", str, "os.PathLike[str]", None]


def load_model(model: ModelArg = None) -> "newsclass.Model":
    """A ``newsclass.Model`` as is; ``None`` or ``"default"``: the built-in default model;
    ``"fast"``: the built-in TF-IDF-only model; anything else a model file's path. As with the
    command line's ``--model``, an existing file named ``default`` or ``fast`` wins."""
    if model is None:
        return newsclass.Model.default()
    if isinstance(model, newsclass.Model):
        return model
    path = os.fspath(model)
    if path in BUILTIN_MODELS and not os.path.exists(path):
        return newsclass.Model.fast() if path == "fast" else newsclass.Model.default()
    return newsclass.Model.load(path)


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


def classify_dataframe(df, model: ModelArg = None, id_column: str = "id",
                       text_column: str = "text"):
    """One row per sentence of every article of ``df`` (columns ``id_column`` and ``text_column``),
    classified by ``model``: a ``newsclass.Model``, ``"default"`` (the built-in default model,
    also when None), ``"fast"`` (the built-in TF-IDF-only model) or a model file's path. Lazy,
    like any DataFrame."""
    import pyarrow as pa

    model = load_model(model)
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
    data = model.to_bytes()
    key = hashlib.sha256(data).hexdigest()
    shipped = spark.sparkContext.broadcast(data)
    del data
    heads = list(model.heads)

    def classify_batches(batches: Iterator["pa.RecordBatch"]) -> Iterator["pa.RecordBatch"]:
        m = _model_from_bytes(key, shipped)
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
                     model: ModelArg = None, id_column: str = "id",
                     text_column: str = "text", input_format: Optional[str] = None,
                     mode: str = "error") -> None:
    """Read articles from ``input_path`` (Parquet, JSON lines or CSV with a header), classify
    every sentence and write one row per sentence to ``output_path`` as Parquet. ``model`` as in
    ``classify_dataframe``: ``"fast"`` for the built-in TF-IDF-only model."""
    df = _reader(spark, input_path, input_format)
    classify_dataframe(df, model, id_column, text_column).write.mode(mode).parquet(output_path)


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m newsclass.spark",
        description="Classify every sentence of an archive of articles with newsclass on Spark "
                    "and write one row per sentence as Parquet.")
    p.add_argument("--input", required=True, help="articles: Parquet, JSON lines or CSV")
    p.add_argument("--output", required=True, help="output folder (Parquet)")
    p.add_argument("--model", default="default",
                   help="a model file, or a built-in model: default (TF-IDF + sentence encoder; "
                        "the default) or fast (TF-IDF only, hundreds of times faster)")
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
        model = load_model(a.model)
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
