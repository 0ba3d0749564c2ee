"""predict_arrow gives the labels and scores of predict, as a pyarrow table."""

import pytest

import newsclass
from conftest import ROOT

pa = pytest.importorskip("pyarrow", reason="pyarrow is not installed")


@pytest.fixture(scope="module")
def model():
    # The fast model (TF-IDF only): these tests push thousands of rows through it. The default
    # (encoder) model is checked on a few rows below.
    return newsclass.Model.fast()


def expected_columns(model, texts):
    """Per head: labels and float32 scores of predict, None for None texts."""
    rows = model.predict([t for t in texts if t is not None])
    it = iter(rows)
    full = [None if t is None else next(it) for t in texts]
    cols = {}
    for h in model.heads:
        cols[h] = [None if r is None else r[h]["label"] for r in full]
        scores = [None if r is None else r[h]["prob"] for r in full]
        cols[h + "_score"] = scores
    return cols


def check(model, arr, texts):
    table = model.predict_arrow(arr)
    assert isinstance(table, pa.Table)
    assert table.num_rows == len(texts)
    assert table.column_names == [c for h in model.heads for c in (h, h + "_score")]
    want = expected_columns(model, texts)
    for h in model.heads:
        col = table.column(h)
        assert pa.types.is_dictionary(col.type)
        assert col.to_pylist() == want[h]
        scores = table.column(h + "_score")
        assert scores.type == pa.float32()
        # predict rounds probabilities to 4 decimals; the table keeps them whole.
        got = scores.to_pylist()
        for g, w in zip(got, want[h + "_score"]):
            assert (g is None) == (w is None)
            if g is not None:
                assert abs(g - w) <= 5e-5
    return table


def test_string_array(model, test_data):
    texts, _ = test_data
    check(model, pa.array(texts, pa.string()), texts)


def test_large_string_chunked_sliced_and_nulls(model, test_data):
    texts = test_data[0][:300]
    with_nulls = [None if i % 7 == 3 else t for i, t in enumerate(texts)]
    check(model, pa.array(with_nulls, pa.large_string()), with_nulls)
    chunked = pa.chunked_array([pa.array(with_nulls[:100]), pa.array(with_nulls[100:], pa.string())])
    check(model, chunked, with_nulls)
    arr = pa.array(with_nulls)
    check(model, arr.slice(13, 101), with_nulls[13:114])
    check(model, pa.array([], pa.string()), [])
    check(model, pa.array(["", "Gunmen attacked a post."]), ["", "Gunmen attacked a post."])


def test_scores_equal_the_unrounded_probabilities(model):
    texts = ["Gunmen attacked a post.", "The envoys met for talks."]
    t = model.predict_arrow(pa.array(texts))
    rows = model.predict(texts, probs=True)
    for i, r in enumerate(rows):
        assert round(t.column("topic_score")[i].as_py(), 4) == r["topic"]["prob"]


def test_to_pandas_works_without_importing_pandas_here(model):
    pd = pytest.importorskip("pandas", reason="pandas is not installed")
    df = model.predict_arrow(pa.array(["Gunmen attacked a post."])).to_pandas()
    assert list(df.columns) == ["topic", "topic_score", "stance", "stance_score"]
    assert isinstance(df, pd.DataFrame)


def test_bad_arrays_raise(model):
    with pytest.raises(TypeError, match="array of strings"):
        model.predict_arrow(pa.array([1, 2]))
    with pytest.raises(TypeError, match="pyarrow string array"):
        model.predict_arrow(["a list"])
    with pytest.raises(ValueError, match="threads"):
        model.predict_arrow(pa.array(["a"]), threads=0)


@pytest.mark.parametrize("name", ["fast", "default"])
def test_classify_articles_arrow_equals_classify_article(name):
    """One row per sentence, the same sentences, offsets, labels and scores as classify_article;
    null and empty articles give no rows; `article` counts rows across chunks."""
    m = getattr(newsclass.Model, name)()
    example = (ROOT / "data" / "example-article.txt").read_text(encoding="utf-8")
    articles = [example, None, "", "Five people died. Les négociations reprennent à Genève.",
                "Troops crossed the river"]
    chunked = pa.chunked_array([pa.array(articles[:2]), pa.array([], pa.string()),
                                pa.array(articles[2:])])
    large = pa.array(articles, pa.large_string())
    for texts in (pa.array(articles), chunked, large, pa.array(["x"] + articles).slice(1)):
        t = m.classify_articles_arrow(texts)
        assert t.column_names == ["article", "sentence", "start", "end", "text", "topic",
                                  "topic_score", "stance", "stance_score"]
        rows = t.to_pylist()
        want = []
        for i, a in enumerate(articles):
            for s in m.classify_article(a) if a else []:
                want.append((i, s["sentence"], s["start"], s["end"], s["text"],
                             s["topic"]["label"], s["stance"]["label"]))
        assert [(r["article"], r["sentence"], r["start"], r["end"], r["text"], r["topic"],
                 r["stance"]) for r in rows] == want
        scores = [s for a in articles if a for s in m.predict([x["text"] for x in m.classify_article(a)])]
        assert [r["topic_score"] for r in rows] == pytest.approx(
            [s["topic"]["prob"] for s in scores], abs=5.01e-5)


def test_default_model_predict_arrow_on_a_few_rows():
    """The encoder model through predict_arrow: the labels and scores of predict."""
    m = newsclass.Model.default()
    texts = ["Gunmen attacked a border post.", None, "The envoys met for talks.", "",
             "Five people died in the blast."]
    check(m, pa.array(texts), texts)


def test_classify_articles_arrow_rejects_what_is_not_text():
    m = newsclass.Model.fast()
    with pytest.raises(TypeError, match="classify_articles_arrow takes"):
        m.classify_articles_arrow(pa.array([1, 2]))
    with pytest.raises(TypeError, match="classify_articles_arrow takes"):
        m.classify_articles_arrow(["a list"])
