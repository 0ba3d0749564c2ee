#!/usr/bin/env python3
"""Reference embeddings of all-MiniLM-L6-v2 for tests/encoder.rs.

Runs the real sentence-transformers (PyTorch, CPU) on the model directory that
scripts/get-encoder installs and writes tests/fixtures/encoder_minilm.json: for each
sentence its text, the token ids of the model's own tokenizer (after truncation), whether
it was truncated, and the embedding (mean pooling, L2-normalized) rounded to 1e-7.

    python3 -m venv /tmp/st && /tmp/st/bin/pip install sentence-transformers
    /tmp/st/bin/python scripts/encoder_fixture.py [MODEL_DIR] [OUT_JSON]

The sequence limit is set to 128 tokens, the limit the Rust encoder uses (the model's
sentence_bert_config.json says 256; the model was trained on 128).
"""

import hashlib
import json
import pathlib
import sys

import numpy as np
import sentence_transformers
import tokenizers
import torch
import transformers
from sentence_transformers import SentenceTransformer

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODEL_DIR = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "models/encoder/all-MiniLM-L6-v2")
OUT = pathlib.Path(sys.argv[2] if len(sys.argv) > 2 else ROOT / "tests/fixtures/encoder_minilm.json")
MAX_TOKENS = 128

LONG = (
    "The ceasefire agreement, which was negotiated over eleven weeks in Doha, Geneva and Cairo by "
    "envoys from the United Nations, the African Union and the Arab League, provides for the "
    "withdrawal of heavy artillery to at least 30 kilometres from the line of contact, the exchange "
    "of all prisoners held since 2019, the reopening of the Rafah, Kerem Shalom and Allenby "
    "crossings to humanitarian convoys, the return of displaced families to 14 villages in the "
    "border districts, a joint monitoring commission with observers from Norway, Indonesia and "
    "Ghana, and a timetable for talks on the disputed water rights of the upper river basin, "
    "although officials on both sides said privately that several of the clauses were vague "
    "enough to be read in opposite ways and that the first test would come within days."
)

OWN = [
    # Numbers, dates, money.
    "At least 1,240 people were killed and 3,508 wounded between 1 January and 31 March 2024.",
    "The IMF approved a $3.2bn loan; inflation fell to 27.4% from 38.1% a year earlier.",
    "Troops were deployed at 06:45 local time (03:45 GMT) on 12/07/2023.",
    "1 2 3 4 5 6 7 8 9 10",
    # Non-ASCII: accents, other scripts, emoji, typographic quotes and dashes.
    "Le ministre des Affaires étrangères a déclaré que la frontière resterait fermée.",
    "Präsident Steinmeier traf sich in Brüssel mit Vertretern der Opposition – ohne Ergebnis.",
    "“We will not negotiate under fire,” said the spokesman — twice.",
    "Protesters in Kyiv and Kharkiv chanted «Слава Україні» outside the ministry.",
    "مسؤولون في دمشق نفوا الاتهامات",
    "北京表示反对任何形式的制裁。",
    "Talks in Tōkyō and Seoul ended without a statement 🙁",
    "naïve façade coöperate résumé",
    # Empty-ish and degenerate inputs.
    "",
    " ",
    "...",
    "?!",
    "a",
    "\t\n",
    # Casing and shouting.
    "BREAKING: EXPLOSION REPORTED NEAR PARLIAMENT",
    # Long: truncated at 128 tokens.
    LONG,
    LONG + " " + LONG,
    # Ordinary news, varied.
    "The Security Council will vote on Friday on a resolution calling for an immediate humanitarian pause.",
    "Rebels said they had shot down a government drone over the northern province.",
    "The opposition welcomed the decision as a long overdue step towards accountability.",
    "Critics accused the government of using the emergency laws to silence journalists.",
    "Shares in Asian markets rose after the central bank held interest rates steady.",
    "The football match was postponed because of heavy rain.",
    "Click here to subscribe to our newsletter.",
    "Reporting by Jane Doe; Editing by John Smith",
    "Mr. Haddad's office didn't respond—it rarely does.",
    "URL: https://example.org/news/2024/03/ceasefire?id=42&lang=en",
]


def main() -> None:
    article = (ROOT / "data/example-article.txt").read_text(encoding="utf-8").splitlines()
    sentences = [s for s in article if s.strip()] + OWN
    model = SentenceTransformer(str(MODEL_DIR), device="cpu")
    model.max_seq_length = MAX_TOKENS
    torch.set_num_threads(1)
    emb = model.encode(
        sentences,
        batch_size=8,
        convert_to_numpy=True,
        normalize_embeddings=False,  # the model's own Normalize module already does it
    ).astype(np.float32)
    norms = np.linalg.norm(emb, axis=1)
    assert np.allclose(norms, 1.0, atol=1e-5), norms
    tok = model.tokenizer
    full = tok(sentences, truncation=False)["input_ids"]
    cut = tok(sentences, truncation=True, max_length=MAX_TOKENS)["input_ids"]
    weights = MODEL_DIR / "model.safetensors"
    out = {
        "what": "all-MiniLM-L6-v2 sentence embeddings from sentence-transformers (mean pooling, "
        "L2-normalized, max_seq_length 128), made by scripts/encoder_fixture.py",
        "model": MODEL_DIR.name,
        "weights_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "max_tokens": MAX_TOKENS,
        "dim": int(emb.shape[1]),
        "versions": {
            "sentence_transformers": sentence_transformers.__version__,
            "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__,
            "torch": torch.__version__,
            "numpy": np.__version__,
        },
        "sentences": [
            {
                "text": s,
                "input_ids": ids,
                "truncated": len(f) > MAX_TOKENS,
                "embedding": [round(float(x), 7) for x in e],
            }
            for s, ids, f, e in zip(sentences, cut, full, emb)
        ],
    }
    OUT.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    n_trunc = sum(x["truncated"] for x in out["sentences"])
    print(f"wrote {OUT}: {len(sentences)} sentences, {n_trunc} truncated")


if __name__ == "__main__":
    main()
