"""Predict with the scikit-learn peer: load the joblib model, read the raw test
file, vectorize + predict, write one label per line."""

import argparse

from common import add_data_args, read_records, write_labels


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    add_data_args(ap, with_label=False)
    ap.add_argument("--model", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    import joblib

    vec, clf = joblib.load(args.model)
    texts, _ = read_records(args.input, args.fmt, args.no_header, args.text_cols)
    pred = clf.predict(vec.transform(texts))
    write_labels(args.out, [str(p) for p in pred])


if __name__ == "__main__":
    main()
