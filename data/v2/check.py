#!/usr/bin/env python3
"""Validate corpus v2 work files: columns, labels, article ids, conflict ids. Standard library only.

Usage: python3 data/v2/check.py data/v2/b7.csv [...]
"""
import csv
import re
import sys
from collections import Counter

TOPICS = {"security", "diplomacy", "casualties", "other"}
STANCES = {"supportive", "critical", "neutral"}
COLUMNS = ["article", "conflict", "text", "topic", "stance"]


def check(path):
    errors = []
    rows = list(csv.DictReader(open(path, newline="", encoding="utf-8")))
    with open(path, newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    if header != COLUMNS:
        errors.append(f"{path}: header must be {','.join(COLUMNS)}, found {','.join(header)}")
    conflict_of = {}
    seen_texts = set()
    for i, r in enumerate(rows, start=2):
        where = f"{path}:{i}"
        if not re.fullmatch(r"b\d+-\d{3}", r["article"] or ""):
            errors.append(f"{where}: article id {r['article']!r} is not like b7-001")
        if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", r["conflict"] or ""):
            errors.append(f"{where}: conflict id {r['conflict']!r} is not kebab-case")
        prev = conflict_of.setdefault(r["article"], r["conflict"])
        if prev != r["conflict"]:
            errors.append(f"{where}: article {r['article']} has two conflicts ({prev}, {r['conflict']})")
        t = (r["text"] or "").strip()
        if not t or "\n" in t or t != r["text"]:
            errors.append(f"{where}: text is empty, has a newline or surrounding spaces")
        if t in seen_texts:
            errors.append(f"{where}: duplicate sentence {t[:60]!r}")
        seen_texts.add(t)
        if len(t.split()) > 70:
            errors.append(f"{where}: sentence of {len(t.split())} words (max 60-70)")
        if r["topic"] not in TOPICS:
            errors.append(f"{where}: topic {r['topic']!r} not in {sorted(TOPICS)}")
        if r["stance"] not in STANCES:
            errors.append(f"{where}: stance {r['stance']!r} not in {sorted(STANCES)}")
    # articles must be contiguous
    order = [r["article"] for r in rows]
    blocks = [a for j, a in enumerate(order) if j == 0 or order[j - 1] != a]
    dup = [a for a, n in Counter(blocks).items() if n > 1]
    if dup:
        errors.append(f"{path}: articles not contiguous: {dup[:5]}")
    per_article = Counter(order)
    arts = len(per_article)
    print(f"{path}: {len(rows)} sentences, {arts} articles, {len(set(conflict_of.values()))} conflicts")
    print("  topic ", dict(Counter(r["topic"] for r in rows)))
    print("  stance", dict(Counter(r["stance"] for r in rows)))
    print("  per conflict", dict(Counter(conflict_of.values())))
    for e in errors[:50]:
        print("ERROR", e)
    return not errors


if __name__ == "__main__":
    ok = all([check(p) for p in sys.argv[1:]])
    sys.exit(0 if ok else 1)
