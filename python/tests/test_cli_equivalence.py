"""The package gives what the command line gives: models, predictions, evaluations.

The volume comparisons (data/test.csv) use the fast model (TF-IDF only, `--model fast`); the
default model (TF-IDF + sentence encoder, ~100x slower) is compared on the example article."""

import pytest

import newsclass

from conftest import DATA, MODELS, jsonl

OPTIONS = dict(c=10, ngram_range=(1, 3), min_df=2, sublinear_tf=True, class_weight="balanced")
FLAGS = ["--c", "10", "--ngram-range", "1,3", "--min-df", "2", "--sublinear-tf",
         "--class-weight", "balanced"]


def without_source(rows):
    for r in rows:
        del r["source"]
    return rows


def test_train_gives_the_cli_model_bytes(cli, train_data, tmp_path):
    texts, labels = train_data
    m = newsclass.train(texts, labels, **OPTIONS)
    cli("train", "--quiet", "--data", DATA / "train.csv", "--model", tmp_path / "cli.newsclass", *FLAGS)
    assert m.to_bytes() == (tmp_path / "cli.newsclass").read_bytes()


def test_round_trip_predicts_as_the_cli(cli, train_data, test_data, tmp_path):
    texts, labels = train_data
    path = tmp_path / "py.newsclass"
    newsclass.train(texts, labels, **OPTIONS).save(path)
    m = newsclass.Model.load(str(path))
    test_texts, _ = test_data
    for extra, kwargs in [([], {}), (["--probs", "--explain=2", "--min-prob", "topic=0.8"],
                                     dict(probs=True, explain=2, min_prob={"topic": 0.8}))]:
        expected = without_source(jsonl(cli(
            "predict", "--model", path, "--input-format", "csv", "--format", "jsonl", *extra,
            DATA / "test.csv")))
        got = m.predict(test_texts, **kwargs)
        assert len(got) == len(test_texts) > 100
        assert got == expected


def test_evaluate_is_the_cli_report(cli, test_data, tmp_path):
    m = newsclass.Model.fast()
    m.save(tmp_path / "f.newsclass")
    import json
    texts, labels = test_data
    for model in ["fast", tmp_path / "f.newsclass"]:
        expected = json.loads(cli("eval", "--model", model, "--format", "json",
                                  "--data", DATA / "test.csv"))
        assert m.evaluate(texts, labels) == expected


@pytest.mark.parametrize("name", ["default", "fast"])
def test_builtin_model_classifies_the_example_article_as_the_cli(cli, name):
    """`Model.default()` is `newsclass predict` without --model, `Model.fast()` with --model fast:
    exactly the same rows."""
    m = getattr(newsclass.Model, name)()
    flags = [] if name == "default" else ["--model", "fast"]
    text = (DATA / "example-article.txt").read_text(encoding="utf-8")
    for extra, kwargs in [([], {}), (["--probs", "--explain=3", "--min-prob", "0.9"],
                                     dict(probs=True, explain=3, min_prob=0.9))]:
        out = cli("predict", *flags, "--format", "jsonl", *extra, "data/example-article.txt")
        got = m.classify_article(text, source="data/example-article.txt", **kwargs)
        assert got == jsonl(out)
        assert len(got) == 9
        # Without source, the same objects minus that key.
        assert m.classify_article(text, **kwargs) == without_source(jsonl(out))


@pytest.mark.parametrize("name", ["default", "fast"])
def test_builtin_model_bytes_are_the_shipped_file(name):
    got = getattr(newsclass.Model, name)().to_bytes()
    assert got == (MODELS / f"{name}.newsclass").read_bytes()
