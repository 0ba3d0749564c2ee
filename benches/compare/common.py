"""Shared helpers for the peer (scikit-learn / fastText) scripts of the comparison harness.

Only the standard library is imported here, so that the orchestrator and the
train/predict scripts pay nothing extra for it.

A data set is described on the command line of every script by:

  --fmt csv|jsonl       file format
  --no-header           CSV without header line: columns are 1-based indices
  --text-cols A,B       columns/keys joined with a single space to form the text
  --label-col L         column/key holding the label (train / gold only)
"""

import argparse
import csv
import json
import re
import sys

# Fields of the 20 Newsgroups JSONL and others can be large.
csv.field_size_limit(sys.maxsize)


def add_data_args(parser, with_label):
    parser.add_argument("--fmt", choices=["csv", "jsonl"], required=True)
    parser.add_argument("--no-header", action="store_true")
    parser.add_argument("--text-cols", required=True, help="comma-separated, 1-based indices without header")
    if with_label:
        parser.add_argument("--label-col", required=True)


def predict_args(description):
    """Parse the arguments every peer's predict script takes: the data format, --model,
    --input (raw test file) and --out (one label per line)."""
    ap = argparse.ArgumentParser(description=description)
    add_data_args(ap, with_label=False)
    ap.add_argument("--model", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--out", required=True)
    return ap.parse_args()


def _split(spec):
    return [s.strip() for s in spec.split(",") if s.strip()]


def read_records(path, fmt, no_header, text_cols, label_col=None):
    """Return (texts, labels). labels is None when label_col is None.

    Rows whose label is empty are kept as the label "" (the orchestrator
    drops them from scoring consistently for every tool)."""
    text_cols = _split(text_cols) if isinstance(text_cols, str) else list(text_cols)
    texts, labels = [], ([] if label_col is not None else None)
    if fmt == "jsonl":
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                obj = json.loads(line)
                texts.append(" ".join(str(obj.get(c) or "") for c in text_cols))
                if labels is not None:
                    labels.append(str(obj.get(label_col) or ""))
        return texts, labels

    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        if no_header:
            idx = [int(c) - 1 for c in text_cols]
            lidx = int(label_col) - 1 if label_col is not None else None
        else:
            header = next(reader)
            pos = {name: i for i, name in enumerate(header)}
            try:
                idx = [pos[c] for c in text_cols]
                lidx = pos[label_col] if label_col is not None else None
            except KeyError as e:
                raise SystemExit(f"{path}: column {e} not in header {header}")
        for row in reader:
            if not row:
                continue
            texts.append(" ".join(row[i] if i < len(row) else "" for i in idx))
            if labels is not None:
                labels.append(row[lidx] if lidx < len(row) else "")
    return texts, labels


def canon_label(label):
    """Labels as they are compared across tools (fastText labels cannot hold whitespace)."""
    return re.sub(r"\s+", "_", label.strip())


# fastText preprocessing, in the spirit of the normalisation in fastText's
# AG News example: lowercase, drop double quotes, put spaces around
# apostrophes and . , ( ) ! ?, turn ; and : into spaces, squeeze whitespace.
# Line breaks become spaces too (fastText reads one example per line).
_FT_SPACED = re.compile(r"([.,()!?'])")
_FT_DROP = re.compile(r'"')
_FT_BLANK = re.compile(r"[;:]")
_WS = re.compile(r"\s+")


def ft_normalize(text):
    text = text.lower()
    text = _FT_DROP.sub("", text)
    text = _FT_BLANK.sub(" ", text)
    text = _FT_SPACED.sub(r" \1 ", text)
    return _WS.sub(" ", text).strip()


def write_labels(path, labels):
    with open(path, "w", encoding="utf-8") as f:
        for lab in labels:
            f.write(lab)
            f.write("\n")
