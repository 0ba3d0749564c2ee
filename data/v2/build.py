#!/usr/bin/env python3
"""Assemble corpus v2 into data/train.csv and data/test.csv (standard library only).

Usage: python3 data/v2/build.py          (from the repository root; deterministic)

Inputs, all in this folder:
  ../qc/double_annotation.csv  corpus v1 (4,615 sentences) with its final (adjudicated) labels
  v1_conflicts.csv          conflict id of every v1 article
  v1_relabel.csv            v1 sentences whose label changed under the revised guideline (`other`)
  b7.csv ... b12.csv        the new articles, with the writers' (first) labels
  qc/second_*.csv           blind second labels of a random 22% sample of the new sentences
  qc/adjudicated_*.csv      final labels of every sample sentence where first and second disagreed

Outputs:
  ../train.csv, ../test.csv       columns article,conflict,text,topic,stance
  ../qc/double_annotation_v2.csv  the new sample: first, second and final labels, adjudication note

The split is conflict-disjoint, and more: related conflicts are grouped into families (FAMILIES
below; e.g. Liberia and Sierra Leone, or Peru and the Ecuador-Peru war) and every family lies wholly
in one split. Test families are drawn with a fixed seed until test holds about 18% of the sentences;
nothing about any model was looked at to make the draw.
"""
import csv
import os
import random
from collections import Counter, defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.dirname(HERE)
BATCHES = ["b7", "b8", "b9", "b10", "b11", "b12"]
SEED = 20261203
TEST_SHARE = 0.18

# Conflicts that share parties, places or events go to the same split.
FAMILIES = [
    {"western-sahara", "morocco-algeria"},
    {"afghanistan", "al-qaeda-2001"},
    {"iran-us", "iran-hostage-1979", "iran-iraq-war", "saudi-iran", "qatar-blockade"},
    {"libya", "lockerbie", "chad"},
    {"korea", "japan-south-korea"},
    {"israel-gaza", "israel-lebanon", "lebanon-1980s", "abraham-accords",
     "israel-egypt-jordan-peace", "munich-1972"},
    {"yemen", "red-sea-shipping"},
    {"iraq-isis", "iraq-kurdistan", "gulf-war-1991", "syria", "turkey-pkk"},
    {"peru", "ecuador-peru"},
    {"liberia", "sierra-leone"},
    {"rwanda", "burundi", "drc-m23"},
    {"sudan", "south-sudan", "uganda-lra", "car"},
    {"ethiopia-eritrea", "tigray", "gerd-nile", "somalia"},
    {"china-taiwan", "south-china-sea", "senkaku", "us-china-trade"},
    {"kashmir", "india-china-border", "balochistan"},
    {"russia-ukraine", "baltic-russia", "belarus", "nato-nordic", "georgia-2008", "chechnya",
     "poland-1981", "us-soviet-arms-control", "transnistria", "nagorno-karabakh", "cyber-attacks"},
    {"serbia-kosovo", "bosnia", "croatia-1990s", "macedonia-2001"},
    {"cyprus", "greece-turkey"},
    {"northern-ireland", "brexit"},
    {"nicaragua-contras", "el-salvador", "guatemala", "honduras-2009"},
    {"venezuela", "guyana-venezuela", "colombia"},
    {"falklands", "beagle-channel"},
    {"panama-1989", "panama-canal-treaties"},
    {"cuba-us", "grenada-1983"},
    {"sahel", "algeria-1990s"},
    {"myanmar", "southern-thailand", "cambodia", "us-vietnam-normalization"},
    {"east-timor", "aceh", "philippines", "bougainville"},
    {"cabo-delgado", "mozambique-renamo", "angola", "apartheid-sanctions"},
]


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def write(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def main():
    v1_conflict = {r["article"]: r["conflict"] for r in read(os.path.join(HERE, "v1_conflicts.csv"))}
    relabel = {(r["article"], r["text"]): r for r in read(os.path.join(HERE, "v1_relabel.csv"))}
    rows = []  # (article, conflict, text, topic, stance)
    # v1 with its final labels, relabelled where the revised guideline applies.
    for r in read(os.path.join(DATA, "qc", "double_annotation.csv")):
        topic, stance = r["final_topic"], r["final_stance"]
        fix = relabel.get((r["article"], r["text"]))
        if fix:
            assert (topic, stance) == (fix["old_topic"], fix["old_stance"]), fix
            topic, stance = fix["new_topic"], fix["new_stance"]
        rows.append((r["article"], v1_conflict[r["article"]], r["text"], topic, stance))
    assert len(relabel) == sum(
        1 for r in rows if (r[0], r[2]) in relabel
    ), "every relabel row matches a v1 sentence"
    # New batches: first labels, replaced by adjudicated ones where the second annotation differed.
    second = {}
    for n in range(1, 5):
        for r in read(os.path.join(HERE, "qc", f"second_{n}.csv")):
            second[r["key"]] = (r["topic"], r["stance"])
    final = {}
    for n in (1, 2):
        for r in read(os.path.join(HERE, "qc", f"adjudicated_{n}.csv")):
            final[r["key"]] = (r["topic"], r["stance"], r["note"])
    qc_rows = []
    for b in BATCHES:
        seen = Counter()
        for r in read(os.path.join(HERE, f"{b}.csv")):
            seen[r["article"]] += 1
            key = f"{r['article']}#{seen[r['article']]}"
            first = (r["topic"], r["stance"])
            topic, stance = first
            if key in second:
                if second[key] != first:
                    topic, stance, note = final[key]
                else:
                    note = ""
                qc_rows.append([r["article"], seen[r["article"]], r["text"], *first, *second[key],
                                topic, stance, note])
            rows.append((r["article"], r["conflict"], r["text"], topic, stance))
    assert len(qc_rows) == len(second), "every sampled key is a new sentence"
    # Split by families of conflicts.
    family_of = {}
    for i, fam in enumerate(FAMILIES):
        for c in fam:
            assert c not in family_of, c
            family_of[c] = f"family-{i}"
    sizes = Counter(family_of.get(r[1], r[1]) for r in rows)
    order = sorted(sizes)
    random.Random(SEED).shuffle(order)
    test_units, n_test = set(), 0
    for unit in order:
        if n_test >= TEST_SHARE * len(rows):
            break
        if n_test + sizes[unit] > 0.24 * len(rows):
            continue  # a family too large to fit without overshooting
        test_units.add(unit)
        n_test += sizes[unit]
    train = [r for r in rows if family_of.get(r[1], r[1]) not in test_units]
    test = [r for r in rows if family_of.get(r[1], r[1]) in test_units]
    header = ["article", "conflict", "text", "topic", "stance"]
    write(os.path.join(DATA, "train.csv"), header, train)
    write(os.path.join(DATA, "test.csv"), header, test)
    write(os.path.join(DATA, "qc", "double_annotation_v2.csv"),
          ["article", "sentence", "text", "first_topic", "first_stance", "second_topic",
           "second_stance", "final_topic", "final_stance", "adjudication_note"], qc_rows)
    conflicts = lambda rs: sorted({r[1] for r in rs})
    assert not set(conflicts(train)) & set(conflicts(test))
    for name, rs in (("train", train), ("test", test), ("all", rows)):
        arts = len({r[0] for r in rs})
        print(f"{name}: {len(rs)} sentences, {arts} articles, {len(conflicts(rs))} conflicts")
        print("  topic ", dict(sorted(Counter(r[3] for r in rs).items())))
        print("  stance", dict(sorted(Counter(r[4] for r in rs).items())))
    print("test conflicts:", ", ".join(conflicts(test)))


if __name__ == "__main__":
    main()
