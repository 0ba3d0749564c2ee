"""The Python API: loading, saving, introspection, errors."""

import pickle

import pytest

import newsclass

TEXTS = ["Troops shelled the town.", "Envoys signed a truce.", "Rebels attacked a convoy.",
         "Ministers agreed to talks.", "The blast killed 12 people.", "Hospitals counted 30 dead."]
TOPICS = ["security", "diplomacy", "security", "diplomacy", "casualties", "casualties"]
STANCES = ["neutral", "supportive", "neutral", "supportive", "critical", "neutral"]


@pytest.fixture(scope="module")
def small():
    return newsclass.train(TEXTS, {"topic": TOPICS, "stance": STANCES}, c=10)


def test_introspection(small):
    assert small.heads == ["topic", "stance"]
    assert small.labels("topic") == ["casualties", "diplomacy", "security"]
    assert small.params["logistic"]["c"] == 10
    info = small.info()
    assert info["training"]["n_rows"] == 6
    assert [h["name"] for h in info["heads"]] == ["topic", "stance"]
    assert small.n_features == info["n_features"] > 0
    assert "topic" in repr(small)


def test_save_load_bytes_and_pickle_round_trip(small, tmp_path):
    path = tmp_path / "m.newsclass"
    small.save(path)
    assert path.read_bytes() == small.to_bytes()
    for m in [newsclass.Model.load(path), newsclass.Model.from_bytes(small.to_bytes()),
              pickle.loads(pickle.dumps(small))]:
        assert m.to_bytes() == small.to_bytes()
        assert m.predict(TEXTS, probs=True) == small.predict(TEXTS, probs=True)


def test_save_refuses_a_directory_and_keeps_nothing_half_written(small, tmp_path):
    with pytest.raises(OSError):
        small.save(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_predict_fields(small):
    [row] = small.predict(["Rebels attacked the border town."], probs=True)
    assert row["sentence"] == 1 and row["start"] == 0 and row["end"] == 32
    assert row["topic"]["label"] in small.labels("topic")
    assert abs(sum(row["topic"]["probs"].values()) - 1) < 1e-3
    [abstained] = small.predict(["Rebels attacked the border town."], min_prob=1.0)
    assert abstained["topic"] == {"label": None, "prob": row["topic"]["prob"], "abstained": True}


def test_explain(small):
    e = small.explain("Rebels attacked the convoy.", 2)
    assert [h["head"] for h in e] == ["topic", "stance"]
    assert len(e[0]["for_terms"]) <= 2


def test_train_options_are_checked():
    labels = {"topic": TOPICS}
    for kwargs, needle in [(dict(c=-1), "`c`"), (dict(ngram_range=(2, 1)), "ngram"),
                           (dict(min_df=1.5), "min_df"), (dict(norm="l3"), "norm"),
                           (dict(class_weight="heavy"), "class_weight"),
                           (dict(analyzer="bytes"), "analyzer"),
                           (dict(char_min_df=2), "char_ngram_range"),
                           (dict(threads=0), "threads")]:
        with pytest.raises(ValueError, match=needle):
            newsclass.train(TEXTS, labels, **kwargs)
    m = newsclass.train(TEXTS, labels, char_ngram_range=(2, 4), char_min_df=1)
    assert m.params["char_ngrams"]["ngram_range"] == [2, 4]


@pytest.mark.parametrize("data", [b"", b"not a model", b"NEWSCLASS" + bytes(100)])
def test_bad_model_bytes_raise_model_error(data):
    with pytest.raises(newsclass.ModelError, match="not a valid newsclass model"):
        newsclass.Model.from_bytes(data)
    assert issubclass(newsclass.ModelError, ValueError)


def test_truncated_model_raises_model_error(small):
    with pytest.raises(newsclass.ModelError):
        newsclass.Model.from_bytes(small.to_bytes()[:-10])


def test_missing_file_raises_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        newsclass.Model.load(tmp_path / "missing.newsclass")


def test_unknown_head(small):
    with pytest.raises(ValueError, match='no head "nope"'):
        small.labels("nope")
    with pytest.raises(ValueError, match="nope"):
        small.evaluate(TEXTS, {"nope": TOPICS})
    with pytest.raises(ValueError, match="nope"):
        small.predict(TEXTS, min_prob={"nope": 0.5})


def test_wrong_types_raise_type_error(small):
    with pytest.raises(TypeError):
        small.predict("a string is not a list of texts")
    with pytest.raises(TypeError):
        small.predict([1, 2])
    with pytest.raises(TypeError):
        small.classify_article(None)
    with pytest.raises(TypeError):
        newsclass.train(TEXTS, {"topic": "security"})
    with pytest.raises(TypeError):
        newsclass.train(TEXTS, TOPICS)
    with pytest.raises(TypeError):
        newsclass.Model.from_bytes("text, not bytes")
    with pytest.raises(TypeError):
        small.predict(TEXTS, min_prob=True)


def test_bad_values_raise_value_error(small):
    with pytest.raises(ValueError, match="labels of head \"topic\" has 5 values"):
        newsclass.train(TEXTS, {"topic": TOPICS[:5]})
    with pytest.raises(ValueError, match="single class|one class"):
        newsclass.train(TEXTS, {"topic": ["security"] * 6})
    with pytest.raises(ValueError, match="no label columns"):
        newsclass.train(TEXTS, {})
    with pytest.raises(ValueError, match="explain"):
        small.predict(TEXTS, explain=0)
    with pytest.raises(ValueError, match="min_prob"):
        small.predict(TEXTS, min_prob=1.5)
    with pytest.raises(ValueError, match="threads"):
        small.predict(TEXTS, threads=0)
    with pytest.raises(ValueError, match="has 2 values"):
        small.evaluate(TEXTS, {"topic": TOPICS[:2]})
    with pytest.raises(ValueError, match="no data rows"):
        small.evaluate([], {"topic": []})


def test_builtin_models_info_shows_the_encoder():
    """The default model carries the sentence encoder (its identity in the header, its options
    in the parameters); the fast one is TF-IDF only, with the same heads and labels."""
    default, fast = newsclass.Model.default(), newsclass.Model.fast()
    info = default.info()
    assert info["format_version"] >= 3
    assert info["encoder"] is not None
    assert default.params["encoder"]["weight"] > 0
    assert "encoder" not in fast.info()
    assert fast.params.get("encoder") is None
    assert default.heads == fast.heads == ["topic", "stance"]
    for h in default.heads:
        assert default.labels(h) == fast.labels(h)
    assert default.n_features > fast.n_features
    assert repr(default).endswith(f', encoder="{info["encoder"]["name"]}")')
    assert "encoder" not in repr(fast)


def test_train_encoder_options_need_an_encoder():
    for kwargs in [dict(encoder_weight=2.0), dict(encoder_embed="f32")]:
        with pytest.raises(ValueError, match="encoder=DIR"):
            newsclass.train(TEXTS, {"topic": TOPICS}, **kwargs)


def test_train_with_the_encoder(tmp_path):
    from conftest import ENCODER

    if not (ENCODER / "model.safetensors").is_file():
        pytest.skip(f"{ENCODER} is missing (scripts/get-encoder)")
    with pytest.raises(ValueError, match="encoder_embed"):
        newsclass.train(TEXTS, {"topic": TOPICS}, encoder=ENCODER, encoder_embed="f8")
    m = newsclass.train(TEXTS, {"topic": TOPICS}, c=10, encoder=str(ENCODER),
                        encoder_weight=2.0, encoder_embed="none")
    assert m.params["encoder"] == {"weight": 2.0, "storage": "none"}
    assert m.info()["encoder"] is not None
    # A model that records only the encoder's identity loads with encoder= and not without.
    identity_only = m.to_bytes()
    assert len(identity_only) < 1_000_000
    with pytest.raises(ValueError, match="encoder"):
        newsclass.Model.from_bytes(identity_only)
    again = newsclass.Model.from_bytes(identity_only, encoder=ENCODER)
    assert again.predict(TEXTS, probs=True) == m.predict(TEXTS, probs=True)
    path = tmp_path / "identity-only.newsclass"
    m.save(path)
    assert newsclass.Model.load(path, encoder=str(ENCODER)).predict(TEXTS) == m.predict(TEXTS)
    f16 = newsclass.train(TEXTS, {"topic": TOPICS}, c=10, encoder=ENCODER)
    assert f16.params["encoder"]["storage"] == "f16"
    assert len(f16.to_bytes()) > 10_000_000  # it carries the encoder's weights
    again = newsclass.Model.from_bytes(f16.to_bytes())
    assert again.predict(TEXTS, probs=True) == f16.predict(TEXTS, probs=True)
