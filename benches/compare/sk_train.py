"""Train the scikit-learn peer: TfidfVectorizer + LogisticRegression, saved with joblib.

One process = read the training file -> fit -> dump (vectorizer, model) to disk.
The orchestrator times this whole process. A small JSON side file with fit
diagnostics (iterations, convergence, vocabulary size) is written next to the
model; it is not counted in the model size.
"""

import argparse
import json
import sys
import warnings

from common import add_data_args, canon_label, read_records


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    add_data_args(ap, with_label=True)
    ap.add_argument("--train", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--solver", choices=["saga", "lbfgs"], required=True)
    ap.add_argument("--c", type=float, default=10.0)
    ap.add_argument("--max-iter", type=int, default=1000)
    ap.add_argument("--char-analyzer", choices=["char", "char_wb"], default=None,
                    help="add character n-grams beside the word n-grams (FeatureUnion of two TfidfVectorizers)")
    ap.add_argument("--char-ngram-range", default="2,5", help="MIN,MAX of the character n-grams")
    args = ap.parse_args()

    import joblib
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    texts, labels = read_records(args.train, args.fmt, args.no_header, args.text_cols, args.label_col)
    keep = [i for i, lab in enumerate(labels) if lab.strip()]
    if len(keep) != len(labels):
        texts = [texts[i] for i in keep]
        labels = [labels[i] for i in keep]
    labels = [canon_label(lab) for lab in labels]

    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    if args.char_analyzer:
        from sklearn.pipeline import FeatureUnion

        lo, hi = (int(x) for x in args.char_ngram_range.split(","))
        chars = TfidfVectorizer(analyzer=args.char_analyzer, ngram_range=(lo, hi), min_df=2, sublinear_tf=True)
        vec = FeatureUnion([("word", vec), ("char", chars)])
    X = vec.fit_transform(texts)
    clf = LogisticRegression(C=args.c, solver=args.solver, max_iter=args.max_iter, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        clf.fit(X, labels)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    joblib.dump((vec, clf), args.model)

    meta = {
        "n_train": len(labels),
        "n_features": int(X.shape[1]),
        "n_classes": int(len(clf.classes_)),
        "n_iter": [int(n) for n in clf.n_iter_.ravel()],
        "max_iter": args.max_iter,
        "converged": converged,
    }
    with open(args.meta, "w") as f:
        json.dump(meta, f)
    if not converged:
        print(f"warning: {args.solver} did not converge in {args.max_iter} iterations", file=sys.stderr)


if __name__ == "__main__":
    main()
