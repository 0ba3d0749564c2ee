"""Label every sentence of a news article by topic and stance (or your own label columns).

Python bindings of the newsclass library: a tokenizer, word (and optionally character) n-grams,
TF-IDF, optionally a MiniLM sentence embedding, and one multinomial logistic regression per
label column.

Two models are built in: ``Model.default()``, TF-IDF plus the sentence encoder (the model
``newsclass predict`` uses without ``--model``), and ``Model.fast()``, TF-IDF alone
(``--model fast``), hundreds of times faster.

>>> import newsclass
>>> m = newsclass.Model.default()
>>> m.classify_article("Gunmen attacked a border post. The envoys met for talks.")[0]["topic"]["label"]
'security'

Heavy work runs in Rust with the GIL released; ``threads=N`` runs it on N threads.
``Model.predict_arrow`` needs pyarrow (``pip install pyarrow``); pandas users call
``table.to_pandas()`` on its result.
"""

from ._newsclass import Model, ModelError, __version__, train

__all__ = ["Model", "ModelError", "train", "__version__"]
