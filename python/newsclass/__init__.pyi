"""Type stubs of the newsclass package (the extension module newsclass._newsclass)."""

from os import PathLike
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

__version__: str

class ModelError(ValueError):
    """Model bytes or a model file that newsclass cannot read."""

_MinProb = Union[float, str, Mapping[str, float], None]
_DocFreq = Union[int, float, None]

class Model:
    """A fitted pipeline: tokenizer, TF-IDF (and, in an encoder model, a sentence embedding) and
    one logistic-regression head per label column."""

    @staticmethod
    def default() -> "Model":
        """The built-in default model: TF-IDF plus the MiniLM sentence encoder, whose weights it
        carries (``newsclass predict`` without ``--model``). Hundreds of times slower than ``fast()``."""
    @staticmethod
    def fast() -> "Model":
        """The built-in fast model: the same heads from TF-IDF alone (``--model fast``)."""
    @staticmethod
    def load(
        path: Union[str, "PathLike[str]"],
        encoder: Optional[Union[str, "PathLike[str]"]] = None,
    ) -> "Model": ...
    @staticmethod
    def from_bytes(
        data: bytes, encoder: Optional[Union[str, "PathLike[str]"]] = None
    ) -> "Model": ...
    def to_bytes(self) -> bytes: ...
    def save(self, path: Union[str, "PathLike[str]"]) -> None: ...
    @property
    def heads(self) -> List[str]: ...
    @property
    def n_features(self) -> int: ...
    @property
    def params(self) -> Dict[str, Any]: ...
    def labels(self, head: str) -> List[str]: ...
    def info(self) -> Dict[str, Any]: ...
    def classify_article(
        self,
        text: str,
        probs: bool = False,
        explain: Optional[int] = None,
        min_prob: _MinProb = None,
        source: Optional[str] = None,
        threads: Optional[int] = None,
    ) -> List[Dict[str, Any]]: ...
    def predict(
        self,
        texts: Sequence[str],
        probs: bool = False,
        explain: Optional[int] = None,
        min_prob: _MinProb = None,
        threads: Optional[int] = None,
    ) -> List[Dict[str, Any]]: ...
    def predict_arrow(self, texts: Any, threads: Optional[int] = None) -> Any:
        """pyarrow string array or chunked array in, pyarrow.Table out."""
    def classify_articles_arrow(self, texts: Any, threads: Optional[int] = None) -> Any:
        """pyarrow string array of articles in; pyarrow.Table out, one row per sentence:
        article, sentence, start, end, text, and <head> / <head>_score per head."""
    def evaluate(
        self,
        texts: Sequence[str],
        labels: Mapping[str, Sequence[str]],
        threads: Optional[int] = None,
    ) -> Dict[str, Any]: ...
    def explain(self, text: str, k: int = 5) -> List[Dict[str, Any]]: ...
    def __reduce__(self) -> Tuple[Any, Tuple[bytes]]: ...

def train(
    texts: Sequence[str],
    labels: Mapping[str, Sequence[str]],
    *,
    c: float = 1.0,
    ngram_range: Tuple[int, int] = (1, 2),
    analyzer: str = "word",
    char_ngram_range: Optional[Tuple[int, int]] = None,
    min_df: _DocFreq = None,
    max_df: _DocFreq = None,
    max_features: Optional[int] = None,
    char_min_df: _DocFreq = None,
    char_max_df: _DocFreq = None,
    char_max_features: Optional[int] = None,
    sublinear_tf: bool = False,
    smooth_idf: bool = True,
    norm: Optional[str] = "l2",
    lowercase: bool = True,
    strip_accents: bool = False,
    keep_punctuation: bool = False,
    max_iter: int = 1000,
    tol: float = 1e-4,
    class_weight: Optional[str] = None,
    seed: int = 42,
    max_classes: Optional[int] = None,
    encoder: Union[str, "PathLike[str]", None] = None,
    encoder_weight: Optional[float] = None,
    encoder_embed: Optional[str] = None,
    threads: Optional[int] = None,
) -> Model:
    """Fit a model; ``encoder=DIR`` adds the sentence-encoder block (``--encoder``), with
    ``encoder_weight`` (default 1.0) and ``encoder_embed`` ("f32", "f16" (default), "int8" or "none")."""
