#!/usr/bin/env python3
"""Inter-annotator agreement and Cohen's kappa from data/qc/double_annotation.csv.

Usage: python3 data/qc/agreement.py   (standard library only)

Reports, per head, observed agreement and Cohen's kappa between the first labels (written with
the sentences) and the independent second annotation, on the random 22% sample
(random_sample=yes, annotated blind before any adjudication) and on the whole corpus, and how
many first labels adjudication changed.
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


rows = list(csv.DictReader(open(os.path.join(HERE, "double_annotation.csv"), encoding="utf-8")))
for name, subset in (
    ("random sample", [r for r in rows if r["random_sample"] == "yes"]),
    ("whole corpus", rows),
):
    print(f"{name}: {len(subset)} sentences")
    for head in ("topic", "stance"):
        po, k = kappa([r[f"first_{head}"] for r in subset], [r[f"second_{head}"] for r in subset])
        changed = sum(r[f"first_{head}"] != r[f"final_{head}"] for r in subset)
        print(f"  {head:<7} agreement {po:.3f}  Cohen's kappa {k:.3f}  first labels changed by adjudication {changed}")
