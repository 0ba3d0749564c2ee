"""newsclass on Apache Spark in local mode (local[2]): the rows written equal the CLI's on the
same articles. The archive goes through the fast model (`model="fast"`, the CLI's `--model
fast`); a few articles go through the default (encoder) model, whose ~49 MB of bytes are
broadcast like any other.

Skips, with the reason, when pyspark or Java is missing, or when the CLI binary is not built."""

import json
import os
import random
import shutil

import pytest

import newsclass

if os.environ.get("SKIP_SPARK") == "1":
    pytest.skip("SKIP_SPARK=1: the Spark tests are skipped", allow_module_level=True)
pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _need(cond, why):
    if not cond:
        pytest.skip(why)


@pytest.fixture(scope="module")
def spark():
    _need(shutil.which("java") is not None, "java is not installed (Spark needs Java 17)")
    import sys

    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

    s = (SparkSession.builder.master("local[2]").appName("newsclass-test")
         .config("spark.ui.enabled", "false")
         .config("spark.sql.shuffle.partitions", "2")
         .config("spark.ui.showConsoleProgress", "false")
         .getOrCreate())
    s.sparkContext.setLogLevel("ERROR")
    yield s
    s.stop()


def _archive(tmp_path):
    """A small archive: the example article and articles stitched from training sentences, with
    a few awkward ones (empty, one word, non-ASCII, no final stop)."""
    import csv

    with open(os.path.join(ROOT, "data", "train.csv"), encoding="utf-8", newline="") as f:
        sentences = [r["text"] for r in csv.DictReader(f)]
    rng = random.Random(7)
    texts = [open(os.path.join(ROOT, "data", "example-article.txt"), encoding="utf-8").read()]
    for _ in range(25):
        texts.append(" ".join(rng.choice(sentences) for _ in range(rng.randint(1, 12))))
    texts += ["", "Ceasefire.", "Les négociations reprennent à Genève — «enfin».",
              "Troops crossed the river at dawn and no one said why"]
    ids = [f"art-{i:03d}" for i in range(len(texts))]
    return ids, texts


def _cli_rows(cli, tmp_path, ids, texts, model_path=None):
    """The CLI's jsonl for each article, one text file per article, keyed by (id, sentence)."""
    files = []
    for i, t in zip(ids, texts):
        p = tmp_path / f"{i}.txt"
        p.write_text(t, encoding="utf-8")
        files.append(str(p))
    args = ["predict", "--quiet", "--format", "jsonl"]
    if model_path:
        # A model file, or a built-in name ("fast").
        args += ["--model", model_path]
    out = cli(*args, *files)
    rows = {}
    for line in out.splitlines():
        o = json.loads(line)
        art = os.path.basename(o["source"])[: -len(".txt")]
        rows[(art, o["sentence"])] = o
    return rows


def _check_equal(got, want, heads):
    assert len(got) == len(want)
    for r in got:
        o = want[(r["id"], r["sentence"])]
        assert (r["start"], r["end"], r["text"]) == (o["start"], o["end"], o["text"])
        for h in heads:
            assert r[h] == o[h]["label"]
            assert abs(r[f"{h}_score"] - o[h]["prob"]) <= 5.01e-5


def test_archive_rows_equal_the_cli(spark, cli, tmp_path):
    from newsclass.spark import classify_archive

    ids, texts = _archive(tmp_path)
    src = tmp_path / "articles.parquet"
    pq.write_table(pa.table({"id": ids, "text": texts}), str(src))
    out = tmp_path / "sentences.parquet"
    classify_archive(spark, str(src), str(out), model="fast")
    got = pq.read_table(str(out)).to_pylist()
    model = newsclass.Model.fast()
    assert set(got[0]) == {"id", "sentence", "start", "end", "text", "topic", "topic_score",
                           "stance", "stance_score"}
    _check_equal(got, _cli_rows(cli, tmp_path, ids, texts, "fast"), model.heads)


def test_default_encoder_model_is_broadcast_and_equals_the_cli(spark, cli, tmp_path):
    """No model given: the built-in default (encoder) model, as the CLI without --model."""
    from newsclass.spark import classify_dataframe

    ids, texts = _archive(tmp_path)
    ids, texts = ids[:4] + ids[-4:], texts[:4] + texts[-4:]
    df = spark.createDataFrame(list(zip(ids, texts)), "id string, text string").repartition(2)
    got = [r.asDict() for r in classify_dataframe(df).collect()]
    assert len(got) > 10
    _check_equal(got, _cli_rows(cli, tmp_path, ids, texts), newsclass.Model.default().heads)


def test_load_model_names(tmp_path, monkeypatch):
    from newsclass.spark import load_model

    fast = newsclass.Model.fast().to_bytes()
    assert load_model("fast").to_bytes() == fast
    assert load_model(None).to_bytes() == load_model("default").to_bytes()
    assert load_model(None).to_bytes() != fast
    small = newsclass.train(["Troops shelled the town.", "The envoys met."] * 3,
                            {"topic": ["security", "diplomacy"] * 3})
    small.save(str(tmp_path / "fast"))
    monkeypatch.chdir(tmp_path)
    # As with the CLI's --model, an existing file wins over the built-in name.
    assert load_model("fast").to_bytes() == small.to_bytes()
    assert load_model(small) is small


def test_jsonl_input_and_a_trained_model_shipped_as_bytes(spark, cli, tmp_path):
    """A model that exists only on the driver (trained in memory, saved nowhere the workers
    could read) reaches the executors with the job."""
    from newsclass.spark import classify_archive

    ids, texts = _archive(tmp_path)
    ids, texts = ids[:10], texts[:10]
    train_texts = ["Troops shelled the town.", "The ministers met in Geneva.",
                   "Five people died in the blast.", "Shares rose on Monday.",
                   "Rebels attacked a convoy.", "The envoys signed a deal.",
                   "The flood killed ten.", "The court adjourned."] * 3
    topics = ["security", "diplomacy", "casualties", "other"] * 6
    model = newsclass.train(train_texts, {"topic": topics}, seed=1)
    src = tmp_path / "articles.jsonl"
    with open(src, "w", encoding="utf-8") as f:
        for i, t in zip(ids, texts):
            f.write(json.dumps({"doc": i, "body": t}) + "\n")
    out = tmp_path / "out.parquet"
    classify_archive(spark, str(src), str(out), model=model, id_column="doc", text_column="body")
    got = pq.read_table(str(out)).to_pylist()
    path = tmp_path / "m.newsclass"
    model.save(str(path))
    _check_equal(got, _cli_rows(cli, tmp_path, ids, texts, str(path)), ["topic"])


def test_a_missing_column_is_a_clear_error(spark, tmp_path):
    from newsclass.spark import classify_archive

    src = tmp_path / "a.parquet"
    pq.write_table(pa.table({"id": ["x"], "body": ["Troops shelled the town."]}), str(src))
    with pytest.raises(ValueError, match="no column 'text'"):
        classify_archive(spark, str(src), str(tmp_path / "o.parquet"))
