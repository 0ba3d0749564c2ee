"""Predict with the fastText peer: load the .bin, read the raw test file,
normalise each text as at training time, predict one label per text, write
one label per line."""

from common import predict_args, ft_normalize, read_records, write_labels

PREFIX = "__label__"


def main():
    args = predict_args(__doc__)

    import fasttext

    model = fasttext.load_model(args.model)
    texts, _ = read_records(args.input, args.fmt, args.no_header, args.text_cols)
    lines = [ft_normalize(t) for t in texts]
    try:
        labels = [labs[0] if labs else "" for labs in model.predict(lines, k=1)[0]]
    except (ValueError, TypeError):
        # fastText's Python predict() breaks with some numpy versions; the
        # binding's own predict() returns [(prob, label)] without numpy.
        labels = []
        for line in lines:
            res = model.f.predict(line, 1, 0.0, "strict")
            labels.append(res[0][1] if res else "")
    write_labels(args.out, [lab[len(PREFIX):] if lab.startswith(PREFIX) else lab for lab in labels])


if __name__ == "__main__":
    main()
