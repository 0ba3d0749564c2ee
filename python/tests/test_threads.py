"""Threads: Python threads predicting at once, and threads=N, give the same results."""

from concurrent.futures import ThreadPoolExecutor

import newsclass


def test_four_python_threads_predict_as_one(test_data):
    # The fast model: 8 x 2,125 texts through the encoder model would take minutes.
    m = newsclass.Model.fast()
    texts, _ = test_data
    article = "\n".join(texts[:60])
    one = (m.predict(texts, probs=True), m.classify_article(article))
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(lambda: (m.predict(texts, probs=True), m.classify_article(article)))
                   for _ in range(8)]
        results = [f.result() for f in futures]
    assert all(r == one for r in results)


def test_threads_keyword_does_not_change_results(train_data, test_data):
    texts, labels = train_data
    texts, labels = texts[:2000], {k: v[:2000] for k, v in labels.items()}
    one = newsclass.train(texts, labels, c=10, threads=1)
    two = newsclass.train(texts, labels, c=10, threads=2)
    assert one.to_bytes() == two.to_bytes()
    test_texts, test_labels = test_data
    assert one.predict(test_texts, probs=True, threads=1) == one.predict(test_texts, probs=True, threads=2)
    assert one.evaluate(test_texts, test_labels, threads=1) == one.evaluate(test_texts, test_labels, threads=2)


def test_encoder_model_threads_keyword_does_not_change_results():
    m = newsclass.Model.default()
    texts = ["Gunmen attacked a border post.", "The envoys met for talks in Geneva.",
             "Five people died in the blast.", "Aid reached the besieged city."] * 4
    assert m.predict(texts, probs=True, threads=1) == m.predict(texts, probs=True, threads=2)
