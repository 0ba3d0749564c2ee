"""Predict with the scikit-learn peer: load the joblib model, read the raw test
file, vectorize + predict, write one label per line."""

from common import predict_args, read_records, write_labels


def main():
    args = predict_args(__doc__)

    import joblib

    vec, clf = joblib.load(args.model)
    texts, _ = read_records(args.input, args.fmt, args.no_header, args.text_cols)
    pred = clf.predict(vec.transform(texts))
    write_labels(args.out, [str(p) for p in pred])


if __name__ == "__main__":
    main()
