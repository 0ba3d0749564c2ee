#!/usr/bin/env python3
"""Inter-annotator agreement and Cohen's kappa from data/qc/double_annotation.csv (corpus v1)
and data/qc/double_annotation_v2.csv (the sentences added in v2).

Usage: python3 data/qc/agreement.py   (standard library only)

Reports, per head, observed agreement and Cohen's kappa between the first labels (written with
the sentences) and the independent second annotation, and how many first labels adjudication
changed: for v1 on the random 22% sample (random_sample=yes, annotated blind before any
adjudication) and on the whole corpus; for v2 on its random 22% sample (the only part annotated
twice), plus agreement on `other` against the rest.
"""
import csv
import os
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))


def kappa(a, b):
    n = len(a)
    po = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    pe = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / (n * n)
    return po, (po - pe) / (1 - pe)


def read(name):
    with open(os.path.join(HERE, name), encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


rows = read("double_annotation.csv")
v2 = read("double_annotation_v2.csv")
for name, subset in (
    ("v1 random sample", [r for r in rows if r["random_sample"] == "yes"]),
    ("v1 whole corpus", rows),
    ("v2 random sample of the new sentences", v2),
):
    print(f"{name}: {len(subset)} sentences")
    for head in ("topic", "stance"):
        po, k = kappa([r[f"first_{head}"] for r in subset], [r[f"second_{head}"] for r in subset])
        changed = sum(r[f"first_{head}"] != r[f"final_{head}"] for r in subset)
        print(f"  {head:<7} agreement {po:.3f}  Cohen's kappa {k:.3f}  first labels changed by adjudication {changed}")

po, k = kappa([r["first_topic"] == "other" for r in v2], [r["second_topic"] == "other" for r in v2])
n_other = sum(r["first_topic"] == "other" or r["second_topic"] == "other" for r in v2)
print(f"v2 `other` vs the rest of topic: agreement {po:.3f}  Cohen's kappa {k:.3f}  ({n_other} sentences labeled other by either)")
