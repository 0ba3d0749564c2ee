#!/usr/bin/env python3
"""Compare newsclass with scikit-learn and fastText on the same data.

Run through benches/compare/run.sh, which prepares /usr/bin/time and the
Python venv and then runs this file with the venv's interpreter.

Every measured command is a separate process wrapped in `/usr/bin/time -v`;
wall time is taken around it with time.perf_counter(), peak RSS is GNU time's
"Maximum resident set size". Tools are run round-robin (the starting tool
rotates each round) so that drift on the machine spreads over all tools.
"""

import argparse
import csv
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
from common import canon_label, read_records  # noqa: E402

OUT = ROOT / "target" / "compare"
TIME_BIN = "/usr/bin/time"

TOOLS_ALL = ["newsclass", "newsclass-encoder", "sklearn-saga", "sklearn-lbfgs", "fasttext-bigram",
             "fasttext-unigram"]
# newsclass-encoder (TF-IDF + the all-MiniLM-L6-v2 block) runs only when named in --tools: it needs
# the encoder directory (scripts/get-encoder) and embeds every document, so it is slow on long texts.
TOOLS_DEFAULT = [t for t in TOOLS_ALL if t != "newsclass-encoder"]
PEERS_FOR_RATIO = ["sklearn-saga", "sklearn-lbfgs", "fasttext-bigram"]
DATASETS_ALL = ["ag_news", "ag_news_char", "ag_news_31k", "ag_news_full", "20newsgroups", "newsclass-data", "scaling"]
SCALING_SIZES = [2500, 5000, 10000, 20000]
SCALING_TOOLS = ["newsclass", "sklearn-saga", "fasttext-bigram"]

SINGLE_THREAD_BLAS = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
FT_SETTINGS = {"lr": 0.25, "dim": 10, "epoch": 5, "bucket": 10_000_000, "thread": 2}

METRICS = [
    # key, label, unit formatter
    ("accuracy", "accuracy"),
    ("macro_f1", "macro-F1"),
    ("train_s", "train s"),
    ("predict_s", "predict s"),
    ("predict_docs_per_s", "predict docs/s"),
    ("train_rss_mib", "train peak RSS MiB"),
    ("predict_rss_mib", "predict peak RSS MiB"),
    ("model_mib", "model MiB"),
]


class ToolFailed(RuntimeError):
    pass


def log(msg):
    print(f"[compare] {msg}", flush=True)


# ----------------------------------------------------------------------------- data sets


def dataset_specs(shared: Path, project_data: Path):
    specs = {
        "ag_news": {
            "train": shared / "ag_news" / "train_20k.csv",
            "test": shared / "ag_news" / "test.csv",
            "fmt": "csv",
            "no_header": True,
            "text_cols": "2,3",
            "label_col": "1",
            "nc_label_columns": "1",
            "head": None,  # newsclass names it col1; take the first head
        },
        "20newsgroups": {
            "train": shared / "20newsgroups" / "train.jsonl",
            "test": shared / "20newsgroups" / "test.jsonl",
            "fmt": "jsonl",
            "no_header": False,
            "text_cols": "text",
            "label_col": "label",
            "nc_label_columns": "label",
            "head": None,
        },
        "newsclass-data": {
            "train": project_data / "train.csv",
            "test": project_data / "test.csv",
            "fmt": "csv",
            "no_header": False,
            "text_cols": "text",
            "label_col": "topic",
            "nc_label_columns": "topic,stance",
            "head": "topic",
        },
    }
    # The larger AG News training files, with the same settings and test set: the 31,533 checked
    # rows of the original training split, and the full 120,000-row train.csv should it ever be
    # placed beside them (skipped with a message while it is absent).
    for name, file in (("ag_news_31k", "train_31533.csv"), ("ag_news_full", "train.csv")):
        specs[name] = dict(specs["ag_news"], train=shared / "ag_news" / file)
    # AG News with character n-grams beside the word n-grams: word (1,2) + char_wb (2,5), each a
    # TF-IDF block of its own (scikit-learn: FeatureUnion of two TfidfVectorizers with the same
    # min_df 2 and sublinear tf). Only newsclass and scikit-learn saga run on it.
    specs["ag_news_char"] = dict(specs["ag_news"], char=("char_wb", 2, 5), tools=["newsclass", "sklearn-saga"])
    return specs


def features_note(spec):
    """How the features of a data set differ from the default word (1,2)-grams, or None."""
    if not spec.get("char"):
        return None
    a, lo, hi = spec["char"]
    return (f"features: word (1,2)-grams + {a} ({lo},{hi})-grams, two TF-IDF blocks (min_df 2, sublinear tf, "
            f"each L2-normalized); newsclass `--analyzer {a} --char-ngram-range {lo},{hi}`, scikit-learn "
            f"`FeatureUnion([TfidfVectorizer(ngram_range=(1,2), ...), TfidfVectorizer(analyzer='{a}', "
            f"ngram_range=({lo},{hi}), ...)])`")


def data_args(spec):
    args = ["--fmt", spec["fmt"], "--text-cols", spec["text_cols"]]
    if spec["no_header"]:
        args.append("--no-header")
    return args


def write_scaling_subsets(spec, sizes, dest: Path):
    """Class-balanced prefixes of the AG News training file.

    train_20k.csv is sorted by class (rows 1-5000 are class 1, ...), so its
    first N rows would hold one or two classes only. Each subset takes the
    first N/k rows of each of the k classes instead, in file order."""
    with open(spec["train"], encoding="utf-8", newline="") as f:
        rows = [r for r in csv.reader(f) if r]
    by_class = {}
    for r in rows:
        by_class.setdefault(r[0], []).append(r)
    k = len(by_class)
    dest.mkdir(parents=True, exist_ok=True)
    out = {}
    for n in sizes:
        per = n // k
        if any(len(v) < per for v in by_class.values()):
            log(f"scaling: not enough rows for {n}, skipping that size")
            continue
        chosen = set()
        for v in by_class.values():
            chosen.update(id(r) for r in v[:per])
        path = dest / f"ag_news_train_{n}.csv"
        with open(path, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, quoting=csv.QUOTE_ALL, lineterminator="\n")
            for r in rows:  # keep file order
                if id(r) in chosen:
                    w.writerow(r)
        out[n] = path
    return out


# ----------------------------------------------------------------------------- measuring


def parse_gnu_time(path: Path):
    res = {}
    for line in path.read_text(errors="replace").splitlines():
        line = line.strip()
        key, _, val = line.rpartition(": ")
        if key == "Maximum resident set size (kbytes)":
            res["max_rss_kib"] = int(val)
        elif key == "User time (seconds)":
            res["user_s"] = float(val)
        elif key == "System time (seconds)":
            res["sys_s"] = float(val)
        elif key.startswith("Elapsed (wall clock) time"):
            parts = [float(p) for p in val.split(":")]
            secs = 0.0
            for p in parts:
                secs = secs * 60 + p
            res["gnu_elapsed_s"] = secs
        elif key == "Percent of CPU this job got":
            res["cpu_percent"] = val
    return res


def timed(cmd, workdir: Path, name: str, env=None, stdout_path=None):
    """Run cmd under /usr/bin/time -v; return wall/user/sys/peak-RSS."""
    workdir.mkdir(parents=True, exist_ok=True)
    tfile = workdir / f"{name}.time"
    errp = workdir / f"{name}.stderr"
    outp = Path(stdout_path) if stdout_path else workdir / f"{name}.stdout"
    full = [TIME_BIN, "-v", "-o", str(tfile)] + [str(c) for c in cmd]
    load_before = os.getloadavg()[0]
    with open(outp, "wb") as out, open(errp, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.run(full, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=ROOT)
        wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = errp.read_text(errors="replace").strip().splitlines()[-15:]
        raise ToolFailed(
            f"command failed (exit {proc.returncode}): {shlex.join(str(c) for c in cmd)}\n"
            + "\n".join("    " + t for t in tail)
            + f"\n    (full stderr: {errp})"
        )
    res = parse_gnu_time(tfile)
    if "max_rss_kib" not in res:
        raise ToolFailed(f"could not parse {TIME_BIN} -v output in {tfile}")
    res["wall_s"] = wall
    res["loadavg_1min_before"] = load_before
    return res


def path_bytes(p: Path):
    if p.is_dir():
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
    return p.stat().st_size if p.exists() else 0


def remove(p: Path):
    if p.is_dir():
        shutil.rmtree(p, ignore_errors=True)
    elif p.exists():
        p.unlink()


def score(gold, pred):
    from sklearn.metrics import accuracy_score, f1_score

    if len(pred) != len(gold):
        raise ToolFailed(f"prediction count {len(pred)} != test rows {len(gold)}")
    pairs = [(canon_label(g), canon_label(p)) for g, p in zip(gold, pred) if g.strip()]
    g = [a for a, _ in pairs]
    p = [b for _, b in pairs]
    return float(accuracy_score(g, p)), float(f1_score(g, p, average="macro", zero_division=0))


def read_lines(path: Path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


# ----------------------------------------------------------------------------- tools


class Runner:
    def __init__(self, args, nc_bin: Path, venv_python: str):
        self.args = args
        self.nc_bin = nc_bin
        self.py = venv_python
        base = dict(os.environ)
        # use the .pyc files pip installed; write none into the repo tree
        base["PYTHONDONTWRITEBYTECODE"] = "1"
        base.pop("PYTHONPYCACHEPREFIX", None)
        self.env_default = base
        self.env_sklearn = dict(base, **SINGLE_THREAD_BLAS)

    def encoder_args(self):
        a = self.args
        return ["--encoder", a.encoder, "--encoder-weight", f"{a.encoder_weight:g}", "--encoder-embed",
                a.encoder_embed, "--no-embedding-cache"]

    def settings(self, tool):
        a = self.args
        if tool == "newsclass":
            return (f"newsclass train --ngram-range 1,2 --min-df 2 --sublinear-tf --c {a.c:g} "
                    "(threads: newsclass defaults)")
        if tool == "newsclass-encoder":
            return (f"newsclass train --ngram-range 1,2 --min-df 2 --sublinear-tf --c {a.c:g} "
                    + " ".join(self.encoder_args()) + " (every document embedded in train and in predict; "
                    "no embedding cache; threads: newsclass defaults)")
        if tool.startswith("sklearn-"):
            solver = tool.split("-", 1)[1]
            return (f"TfidfVectorizer(ngram_range=(1,2), min_df=2, sublinear_tf=True) + "
                    f"LogisticRegression(C={a.c:g}, solver='{solver}', max_iter={a.max_iter}, random_state=0), "
                    "multinomial; OPENBLAS/OMP/MKL_NUM_THREADS=1")
        if tool.startswith("fasttext-"):
            ng = 2 if tool.endswith("bigram") else 1
            s = ", ".join(f"{k}={v}" for k, v in FT_SETTINGS.items())
            return (f"fasttext.train_supervised(wordNgrams={ng}, {s}, minCount=1); lowercased, punctuation "
                    "spaced; training examples shuffled (seed 0); CSV->fastText conversion inside the timed train")
        raise ValueError(tool)

    def warm_up(self, tools):
        """Untimed: load each peer's libraries once, so the first timed run does
        not pay for a cold page cache alone."""
        if any(t.startswith("sklearn-") for t in tools):
            subprocess.run([self.py, "-c", "import joblib, sklearn.linear_model, sklearn.feature_extraction.text"],
                           env=self.env_sklearn, cwd=ROOT, check=True)
        if any(t.startswith("fasttext-") for t in tools):
            subprocess.run([self.py, "-c", "import fasttext"], env=self.env_default, cwd=ROOT, check=True)

    def run_once(self, tool, spec, gold, n_test, workdir: Path):
        """One train + predict (+ eval for newsclass). Returns a run record."""
        if workdir.exists():
            shutil.rmtree(workdir)
        workdir.mkdir(parents=True)
        labels_out = workdir / "pred.labels"
        rec = {"tool": tool}
        if tool.startswith("newsclass"):
            model = workdir / "model.model"
            nh = ["--no-header"] if spec["no_header"] else []
            train_cmd = [self.nc_bin, "train", "--data", spec["train"], *nh, "--text-column", spec["text_cols"],
                         "--label-columns", spec["nc_label_columns"], "--model", model, "--ngram-range", "1,2",
                         "--min-df", "2", "--sublinear-tf", "--c", f"{self.args.c:g}", "--quiet"]
            if spec.get("char"):
                a, lo, hi = spec["char"]
                train_cmd += ["--analyzer", a, "--char-ngram-range", f"{lo},{hi}"]
            if tool == "newsclass-encoder":
                train_cmd += self.encoder_args()
            pred_cmd = [self.nc_bin, "predict", "--model", model, "--input-format", spec["fmt"], *nh,
                        "--text-column", spec["text_cols"], "--format", "csv", spec["test"]]
            eval_cmd = [self.nc_bin, "eval", "--model", model, "--data", spec["test"], *nh, "--text-column",
                        spec["text_cols"], "--label-columns", spec["nc_label_columns"], "--format", "json"]
            env = self.env_default
        elif tool.startswith("sklearn-"):
            model = workdir / "model.joblib"
            solver = tool.split("-", 1)[1]
            train_cmd = [self.py, HERE / "sk_train.py", *data_args(spec), "--label-col", spec["label_col"],
                         "--train", spec["train"], "--model", model, "--meta", workdir / "meta.json",
                         "--solver", solver, "--c", f"{self.args.c:g}", "--max-iter", str(self.args.max_iter)]
            if spec.get("char"):
                a, lo, hi = spec["char"]
                train_cmd += ["--char-analyzer", a, "--char-ngram-range", f"{lo},{hi}"]
            pred_cmd = [self.py, HERE / "sk_predict.py", *data_args(spec), "--model", model,
                        "--input", spec["test"], "--out", labels_out]
            env = self.env_sklearn
        elif tool.startswith("fasttext-"):
            model = workdir / "model.bin"
            ng = 2 if tool.endswith("bigram") else 1
            train_cmd = [self.py, HERE / "ft_train.py", *data_args(spec), "--label-col", spec["label_col"],
                         "--train", spec["train"], "--model", model, "--meta", workdir / "meta.json",
                         "--tmpdir", workdir / "tmp", "--word-ngrams", str(ng)]
            for k, v in FT_SETTINGS.items():
                train_cmd += [f"--{k.replace('_', '-')}", str(v)]
            pred_cmd = [self.py, HERE / "ft_predict.py", *data_args(spec), "--model", model,
                        "--input", spec["test"], "--out", labels_out]
            env = self.env_default
        else:
            raise ValueError(tool)

        tr = timed(train_cmd, workdir, "train", env=env)
        rec["model_bytes"] = path_bytes(model)
        if tool.startswith("newsclass"):
            pr = timed(pred_cmd, workdir, "predict", env=env, stdout_path=labels_out)
        else:
            pr = timed(pred_cmd, workdir, "predict", env=env)
        rec["train"] = tr
        rec["predict"] = pr

        if tool.startswith("newsclass"):
            proc = subprocess.run([str(c) for c in eval_cmd], capture_output=True, text=True, cwd=ROOT, env=env)
            if proc.returncode != 0:
                raise ToolFailed(f"newsclass eval failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
            try:
                ev = json.loads(proc.stdout)
                heads = ev["heads"]
                head = spec["head"] if spec["head"] in heads else next(iter(heads))
                h = heads[head]
            except (ValueError, KeyError, StopIteration) as e:
                raise ToolFailed(f"cannot read newsclass eval JSON ({e}): {proc.stdout[:500]!r}")
            rec["head"] = head
            rec["accuracy"] = float(h["accuracy"])
            rec["macro_f1"] = float(h["macro_f1"])
            rec["eval"] = {name: {k: v for k, v in hv.items() if k in ("accuracy", "macro_f1", "weighted_f1")}
                           for name, hv in heads.items()}
            rec["eval_n"] = ev.get("n")
            rec["predict_check"] = check_newsclass_predict(labels_out, gold, head)
        else:
            pred = read_lines(labels_out)
            rec["accuracy"], rec["macro_f1"] = score(gold, pred)
            meta = workdir / "meta.json"
            if meta.exists():
                rec["fit"] = json.loads(meta.read_text())
        rec["n_test"] = n_test
        rec["predict_docs_per_s"] = n_test / pr["wall_s"]
        remove(model)  # fastText bigram models are ~400 MB each
        return rec


def check_newsclass_predict(path: Path, gold, head):
    """Best effort: does `newsclass predict` output have one row per test doc,
    and does it agree with the gold labels as well as `eval` says?"""
    try:
        with open(path, encoding="utf-8", newline="") as f:
            rows = [r for r in csv.reader(f)]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        return {"error": str(e)}
    out = {"rows": len(rows)}
    if not rows:
        return out
    header = None
    if len(rows) == len(gold) + 1:
        header, rows = rows[0], rows[1:]
    if len(rows) != len(gold):
        out["note"] = f"{len(rows)} rows for {len(gold)} test docs"
        return out
    col = None
    if header and head in header:
        col = header.index(head)
    elif len(rows[0]) == 1:
        col = 0
    else:
        known = {canon_label(g) for g in gold}
        for i in range(len(rows[0])):
            if all(canon_label(r[i]) in known for r in rows[:50] if i < len(r)):
                col = i
                break
    if col is None:
        return out
    pred = [r[col] if col < len(r) else "" for r in rows]
    out["column"] = header[col] if header else col
    out["accuracy"], out["macro_f1"] = score(gold, pred)
    return out


# ----------------------------------------------------------------------------- summaries


def derived(rec):
    return {
        "accuracy": rec["accuracy"],
        "macro_f1": rec["macro_f1"],
        "train_s": rec["train"]["wall_s"],
        "predict_s": rec["predict"]["wall_s"],
        "predict_docs_per_s": rec["predict_docs_per_s"],
        "train_rss_mib": rec["train"]["max_rss_kib"] / 1024,
        "predict_rss_mib": rec["predict"]["max_rss_kib"] / 1024,
        "model_mib": rec["model_bytes"] / 2**20,
    }


def summarize(runs):
    vals = [derived(r) for r in runs]
    out = {}
    for key, _ in METRICS:
        xs = [v[key] for v in vals]
        out[key] = {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}
    return out


def ratios(summ):
    out = {}
    if "newsclass" not in summ:
        return out
    for peer in PEERS_FOR_RATIO:
        if peer not in summ:
            continue
        out[f"newsclass/{peer}"] = {
            k: (summ["newsclass"][k]["median"] / summ[peer][k]["median"]) if summ[peer][k]["median"] else None
            for k, _ in METRICS
        }
    if "newsclass-encoder" in summ:
        out["newsclass-encoder/newsclass"] = {
            k: (summ["newsclass-encoder"][k]["median"] / summ["newsclass"][k]["median"])
            if summ["newsclass"][k]["median"] else None
            for k, _ in METRICS
        }
    return out


def fmt_val(key, x):
    if key in ("accuracy", "macro_f1"):
        return f"{100 * x:.2f}%"
    if key == "predict_docs_per_s":
        return f"{x:,.0f}"
    if key.endswith("_s"):
        return f"{x:.2f}"
    return f"{x:.1f}"


def fmt_cell(key, s):
    med = fmt_val(key, s["median"])
    lo, hi = fmt_val(key, s["min"]), fmt_val(key, s["max"])
    if s["n"] == 1 or lo == hi:
        return med
    if key in ("accuracy", "macro_f1"):
        lo, hi = lo.rstrip("%"), hi
    return f"{med} [{lo}–{hi}]"


def fmt_ratio(key, r):
    if r is None:
        return "—"
    if key in ("accuracy", "macro_f1"):
        return f"{r:.3f}×"
    return f"{r:.2f}×" if r >= 0.1 else f"{r:.2g}×"


def md_table(summ, rat, tools, n_runs_note=""):
    head = "| tool | " + " | ".join(lbl for _, lbl in METRICS) + " |"
    sep = "|---|" + "---:|" * len(METRICS)
    lines = [head, sep]
    for t in tools:
        if t in summ:
            lines.append(f"| {t} | " + " | ".join(fmt_cell(k, summ[t][k]) for k, _ in METRICS) + " |")
    for name, r in rat.items():
        cells = [fmt_ratio(k, r[k]) for k, _ in METRICS]
        lines.append(f"| *{name}* | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- environment


def sh(cmd, **kw):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, **kw)
        return p.stdout.strip() if p.returncode == 0 else None
    except OSError:
        return None


def machine_info():
    cpu = None
    out = sh(["lscpu"]) or ""
    for line in out.splitlines():
        if line.startswith("Model name:"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {
        "date_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "uname": sh(["uname", "-srm"]),
        "cpu_model": cpu,
        "cores": os.cpu_count(),
        "mem_total_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "loadavg_at_start": os.getloadavg(),
        "openblas_env": {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ},
    }


def peer_versions():
    from importlib import metadata

    v = {"python": platform.python_version()}
    for pkg in ("scikit-learn", "numpy", "scipy", "joblib", "threadpoolctl", "fasttext-wheel"):
        try:
            v[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            v[pkg] = None
    try:
        from threadpoolctl import threadpool_info
        import numpy  # noqa: F401
        import scipy.sparse  # noqa: F401
        import sklearn.linear_model  # noqa: F401

        v["blas"] = sorted({f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture', '-')})"
                            for i in threadpool_info() if i.get("user_api") == "blas"})
    except Exception as e:  # informational only
        v["blas"] = [f"unknown: {e}"]
    return v


def newsclass_versions(nc_bin):
    return {
        "newsclass": sh([str(nc_bin), "--version"]),
        "git_commit": sh(["git", "rev-parse", "--short", "HEAD"]) or "no commit",
        "git_dirty": bool(sh(["git", "status", "--porcelain", "--", "src", "Cargo.toml", "Cargo.lock"])),
        "rustc": sh(["rustc", "--version"]),
    }


def build_newsclass():
    log("building newsclass: cargo build --release")
    logf = OUT / "cargo-build.log"
    with open(logf, "w") as f:
        p = subprocess.run(["cargo", "build", "--release"], cwd=ROOT, stdout=f, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        tail = logf.read_text(errors="replace").strip().splitlines()[-25:]
        sys.exit("[compare] ERROR: cargo build --release failed:\n" + "\n".join(tail) + f"\n(full log: {logf})")
    log("build ok")


def check_newsclass_cli(nc_bin: Path):
    if not nc_bin.exists():
        sys.exit(f"[compare] ERROR: {nc_bin} does not exist")
    missing = [sub for sub in ("train", "predict", "eval")
               if subprocess.run([str(nc_bin), sub, "--help"], capture_output=True, cwd=ROOT).returncode != 0]
    if missing:
        sys.exit(f"[compare] ERROR: {nc_bin} has no working subcommand(s): {', '.join(missing)} "
                 "(`newsclass SUB --help` failed). Use --tools to leave newsclass out.")


# ----------------------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="runs per tool and data set (default 3)")
    ap.add_argument("--datasets", default=",".join(DATASETS_ALL),
                    help=f"comma-separated subset of {','.join(DATASETS_ALL)} (default: all)")
    ap.add_argument("--tools", default=",".join(TOOLS_DEFAULT),
                    help=f"comma-separated subset of {','.join(TOOLS_ALL)} (default: all but newsclass-encoder)")
    ap.add_argument("--encoder", default=str(ROOT / "models" / "encoder" / "all-MiniLM-L6-v2"),
                    help="sentence-encoder directory for newsclass-encoder (default: where scripts/get-encoder "
                         "puts all-MiniLM-L6-v2)")
    ap.add_argument("--encoder-weight", type=float, default=0.5,
                    help="newsclass-encoder's --encoder-weight (default 0.5, the default model's)")
    ap.add_argument("--encoder-embed", default="int8",
                    help="newsclass-encoder's --encoder-embed (default int8, the default model's)")
    ap.add_argument("--quick", action="store_true", help="1 run, ag_news only")
    ap.add_argument("--c", type=float, default=10.0, help="inverse L2 strength for newsclass and sklearn (default 10)")
    ap.add_argument("--max-iter", type=int, default=1000, help="sklearn max_iter (default 1000)")
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "datasets"),
                    help="shared data sets folder (default ../shared/datasets)")
    ap.add_argument("--project-data", default=str(ROOT / "data"),
                    help="folder with the project's train.csv/test.csv (default data/)")
    ap.add_argument("--no-build", action="store_true", help="do not run cargo build --release")
    ap.add_argument("--newsclass-bin", default=None,
                    help="use this newsclass binary instead of building target/release/newsclass")
    ap.add_argument("--keep-going", action="store_true",
                    help="record a failing tool and go on instead of stopping")
    args = ap.parse_args()
    if args.quick:
        args.runs = 1
        args.datasets = "ag_news"
    if args.runs < 1:
        sys.exit("[compare] ERROR: --runs must be >= 1")
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    for d in datasets:
        if d not in DATASETS_ALL:
            sys.exit(f"[compare] ERROR: unknown data set {d!r} (known: {', '.join(DATASETS_ALL)})")
    for t in tools:
        if t not in TOOLS_ALL:
            sys.exit(f"[compare] ERROR: unknown tool {t!r} (known: {', '.join(TOOLS_ALL)})")
    tools = [t for t in TOOLS_ALL if t in tools]
    if "newsclass-encoder" in tools and not (Path(args.encoder) / "model.safetensors").is_file():
        sys.exit(f"[compare] ERROR: newsclass-encoder needs the encoder directory {args.encoder} "
                 "(run scripts/get-encoder, or pass --encoder DIR)")
    if not Path(TIME_BIN).exists():
        sys.exit(f"[compare] ERROR: {TIME_BIN} missing (run.sh installs it)")

    OUT.mkdir(parents=True, exist_ok=True)
    nc_bin = Path(args.newsclass_bin).resolve() if args.newsclass_bin else ROOT / "target" / "release" / "newsclass"
    if any(t.startswith("newsclass") for t in tools):
        if not args.no_build and not args.newsclass_bin:
            build_newsclass()
        check_newsclass_cli(nc_bin)
        # Run a private copy: others may rebuild target/release/newsclass while this runs.
        snap = OUT / "bin" / "newsclass"
        snap.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(nc_bin, snap)
        log(f"timing a copy of {nc_bin}: {snap}")
        nc_bin = snap

    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    res_dir = OUT / "results" / stamp
    res_dir.mkdir(parents=True, exist_ok=True)
    work = OUT / "work"
    tmp = OUT / "tmp"
    shared = Path(args.shared)

    command = os.environ.get("COMPARE_COMMAND") or shlex.join(["benches/compare/compare.py"] + sys.argv[1:])
    results = {
        "status": "running",
        "command": command,
        "machine": machine_info(),
        "versions": {**peer_versions(), **(newsclass_versions(nc_bin) if any(t.startswith("newsclass") for t in tools) else {})},
        "settings": {
            "runs": args.runs,
            "c": args.c,
            "sklearn_max_iter": args.max_iter,
            "sklearn_env": SINGLE_THREAD_BLAS,
            "fasttext": FT_SETTINGS,
            "tools": {t: Runner(args, nc_bin, sys.executable).settings(t) for t in tools},
        },
        "datasets": {},
        "skipped": {},
    }

    def save(final=False):
        if final:
            results["status"] = "done"
        (res_dir / "results.json").write_text(json.dumps(results, indent=2, default=str))

    runner = Runner(args, nc_bin, sys.executable)
    runner.warm_up(tools)
    specs = dataset_specs(shared, Path(args.project_data))
    failed = []

    def run_group(jobs, tool_list):
        """Run every (tag, spec) job with every tool, `--runs` rounds.

        Each round visits every job and, within it, every tool, starting from a
        tool that rotates with the round; several jobs (the scaling sizes) are
        thus interleaved, so load drift cannot favour one size."""
        state = {}
        for tag, spec in jobs:
            texts, gold = read_records(spec["test"], spec["fmt"], spec["no_header"], spec["text_cols"],
                                       spec["label_col"])
            n_train = len(read_records(spec["train"], spec["fmt"], spec["no_header"], spec["text_cols"])[0])
            job_tools = [t for t in tool_list if t in spec.get("tools", tool_list)]
            entry = {"train_file": str(spec["train"]), "test_file": str(spec["test"]), "n_train": n_train,
                     "n_test": len(texts), "runs": {t: [] for t in job_tools}, "failures": {}}
            if features_note(spec):
                entry["features"] = features_note(spec)
            results["datasets"][tag] = entry
            state[tag] = (spec, gold, len(texts), entry, job_tools)
        for r in range(args.runs):
            for tag, _ in jobs:
                spec, gold, n_test, entry, live = state[tag]
                k = r % len(live) if live else 0
                for tool in live[k:] + live[:k]:
                    log(f"{tag}: run {r + 1}/{args.runs} {tool}")
                    try:
                        rec = runner.run_once(tool, spec, gold, n_test, work / tag / tool)
                    except ToolFailed as e:
                        msg = str(e)
                        if not args.keep_going:
                            results["status"] = f"failed: {tag} {tool}"
                            save()
                            sys.exit(f"[compare] ERROR in {tag} / {tool}:\n{msg}\npartial results: "
                                     f"{res_dir / 'results.json'} (use --keep-going to continue past failures)")
                        log(f"FAILED {tag} {tool}: {msg}")
                        entry["failures"][tool] = msg
                        failed.append(f"{tag}/{tool}")
                        live.remove(tool)
                        continue
                    rec["run"] = r + 1
                    entry["runs"][tool].append(rec)
                    d = derived(rec)
                    log(f"    acc {100 * d['accuracy']:.2f}%  train {d['train_s']:.2f}s ({d['train_rss_mib']:.0f} MiB)  "
                        f"predict {d['predict_s']:.2f}s ({d['predict_rss_mib']:.0f} MiB)  "
                        f"model {d['model_mib']:.1f} MiB")
                    save()
        for tag, _ in jobs:
            entry = state[tag][3]
            entry["summary"] = {t: summarize(rs) for t, rs in entry["runs"].items() if rs}
            entry["ratios"] = ratios(entry["summary"])
        save()
        return {tag: state[tag][3] for tag, _ in jobs}

    main_sets = [d for d in datasets if d != "scaling"]
    for name in main_sets:
        spec = specs[name]
        missing = [str(p) for p in (spec["train"], spec["test"]) if not Path(p).exists()]
        if missing:
            msg = f"skipping {name}: missing {', '.join(missing)}"
            log(msg)
            results["skipped"][name] = msg
            continue
        run_group([(name, spec)], tools)

    if "scaling" in datasets:
        base = specs["ag_news"]
        s_tools = [t for t in SCALING_TOOLS if t in tools]
        if not Path(base["train"]).exists() or not Path(base["test"]).exists():
            msg = "skipping scaling: AG News files missing"
            log(msg)
            results["skipped"]["scaling"] = msg
        elif not s_tools:
            results["skipped"]["scaling"] = "no scaling tool selected"
        else:
            subsets = write_scaling_subsets(base, SCALING_SIZES, tmp / "scaling")
            scaling = {"sizes": sorted(subsets), "tools": s_tools, "points": {},
                       "subset_rule": "first N/4 rows of each class of train_20k.csv, in file order",
                       "order": "each round runs every size with every tool (sizes interleaved)"}
            jobs = [(f"scaling-{n}", dict(base, train=path)) for n, path in sorted(subsets.items())]
            entries = run_group(jobs, s_tools)
            for n in sorted(subsets):
                scaling["points"][n] = {"dataset": f"scaling-{n}", "summary": entries[f"scaling-{n}"]["summary"]}
            results["scaling"] = scaling
            save()

    loads = [rec[ph]["loadavg_1min_before"] for d in results["datasets"].values()
             for rs in d["runs"].values() for rec in rs for ph in ("train", "predict")]
    results["max_loadavg_1min_before_a_run"] = max(loads) if loads else None
    save(final=True)
    md = render_markdown(results, tools)
    (res_dir / "results.md").write_text(md)
    latest_dir = OUT / "results"
    shutil.copyfile(res_dir / "results.md", latest_dir / "latest.md")
    shutil.copyfile(res_dir / "results.json", latest_dir / "latest.json")
    print()
    print(md)
    log(f"wrote {res_dir / 'results.md'} and results.json (copied to {latest_dir / 'latest.md'}, latest.json)")
    if failed:
        log(f"WARNING: failed runs: {', '.join(failed)}")
        sys.exit(1)


def render_markdown(res, tools):
    m, v, s = res["machine"], res["versions"], res["settings"]
    L = ["# newsclass vs scikit-learn vs fastText", ""]
    L.append(f"- date: {m['date_utc']}")
    L.append(f"- machine: `{m['uname']}`, CPU {m['cpu_model']}, {m['cores']} cores, {m['mem_total_gib']} GiB RAM")
    vers = [f"python {v['python']}", f"scikit-learn {v['scikit-learn']}", f"numpy {v['numpy']}",
            f"scipy {v['scipy']}", f"fasttext-wheel {v['fasttext-wheel']}"]
    if "newsclass" in v:
        vers.insert(0, f"{v.get('newsclass') or 'newsclass ?'} (git {v.get('git_commit')}"
                       f"{', uncommitted changes' if v.get('git_dirty') else ''}; {v.get('rustc')})")
    L.append(f"- versions: {', '.join(vers)}; BLAS: {'; '.join(v.get('blas') or [])}")
    L.append(f"- command: `{res['command']}`")
    ml = res.get("max_loadavg_1min_before_a_run")
    if ml is not None:
        L.append(f"- highest 1-min load average seen before a timed process: {ml:.2f} "
                 f"(on {m['cores']} cores; well above ~1 means other work was running and timings are noisy)")
    L.append(f"- runs per tool: {s['runs']} (round-robin, starting tool rotated each round); "
             "cells are median [min–max]; ratio rows are newsclass median / peer median")
    L.append("")
    L.append("Settings:")
    L.append("")
    for t, desc in s["tools"].items():
        L.append(f"- **{t}**: {desc}")
    L.append(f"- same C = {s['c']:g} for newsclass and scikit-learn; scikit-learn runs with "
             + ", ".join(f"{k}={val}" for k, val in s["sklearn_env"].items()) + "; fastText uses its own 2 threads")
    L.append("- train time = whole process: read the raw training file → model on disk. predict time = whole "
             "process: load model, read the raw test file, write one label per document to a file. "
             "Python processes include interpreter start-up and imports. Files are in the page cache (warm).")
    L.append("- accuracy/macro-F1: newsclass from `newsclass eval --format json` on the saved model; peers from "
             "their predicted labels with sklearn.metrics. Peak RSS: `/usr/bin/time -v` maximum resident set size.")
    L.append("")
    for name, d in res["datasets"].items():
        if name.startswith("scaling-"):
            continue
        L.append(f"## {name}")
        L.append("")
        desc = (f"train `{d['train_file']}` ({d['n_train']:,} docs) → test `{d['test_file']}` "
                f"({d['n_test']:,} docs)")
        nc = d["runs"].get("newsclass") or []
        if nc and nc[0].get("head"):
            desc += f"; newsclass head reported: `{nc[0]['head']}`"
        if name == "newsclass-data" and nc:
            desc += " (newsclass trains the topic and stance heads in one model, so its train time covers both)"
        L.append(desc)
        if d.get("features"):
            L.append("")
            L.append(d["features"] + ".")
        L.append("")
        L.append(md_table(d.get("summary", {}), d.get("ratios", {}), tools))
        checks = [r["predict_check"].get("accuracy") for r in nc if r.get("predict_check")]
        if nc and checks and all(c is not None for c in checks):
            diff = max(abs(c - r["accuracy"]) for c, r in zip(checks, nc))
            L.append("")
            L.append(f"Check: accuracy recomputed from the timed `newsclass predict` output "
                     f"{'matches' if diff < 5e-4 else 'DIFFERS from'} `eval` "
                     f"(largest difference {100 * diff:.2f} pp over {len(checks)} runs).")
        elif nc:
            L.append("")
            L.append("Check: could not read labels from the `newsclass predict` output (see results.json).")
        if nc and len(nc[0].get("eval", {})) > 1:
            other = []
            for h in nc[0]["eval"]:
                if h == nc[0]["head"]:
                    continue
                accs = [r["eval"][h]["accuracy"] for r in nc]
                f1s = [r["eval"][h]["macro_f1"] for r in nc]
                other.append(f"`{h}` accuracy {100 * statistics.median(accs):.2f}%, "
                             f"macro-F1 {100 * statistics.median(f1s):.2f}%")
            L.append("")
            L.append("newsclass's other head(s) on the same model (no peer row): " + "; ".join(other))
        for t, msg in d.get("failures", {}).items():
            L.append(f"\n**{t} failed**: `{msg.splitlines()[0]}`")
        L.append("")
    for name, msg in res["skipped"].items():
        L.append(f"- {msg}")
    if res["skipped"]:
        L.append("")
    sc = res.get("scaling")
    if sc and sc["points"]:
        sizes = sc["sizes"]
        L.append("## scaling (AG News training subsets → full test set)")
        L.append("")
        L.append(f"Subsets: {sc['subset_rule']} (the file is sorted by class, so plain first-N rows would "
                 "hold one or two classes). Each round runs every size with every tool, so load drift is shared by all sizes. "
                 "Medians.")
        L.append("")
        L.append("| tool | metric | " + " | ".join(f"{n / 1000:g}k" for n in sizes) + f" | {sizes[-1] // 1000}k/"
                 f"{sizes[0] / 1000:g}k |")
        L.append("|---|---|" + "---:|" * (len(sizes) + 1))
        for t in sc["tools"]:
            for key, lbl in (("train_s", "train s"), ("train_rss_mib", "train peak RSS MiB"),
                             ("accuracy", "accuracy")):
                vals = [sc["points"].get(n, {}).get("summary", {}).get(t, {}).get(key, {}).get("median")
                        for n in sizes]
                cells = ["—" if x is None else fmt_val(key, x) for x in vals]
                if vals[0] is None or vals[-1] is None:
                    ratio = "—"
                elif key == "accuracy":
                    ratio = f"{100 * (vals[-1] - vals[0]):+.1f} pp"
                else:
                    ratio = f"{vals[-1] / vals[0]:.2f}×" if vals[0] else "—"
                L.append(f"| {t} | {lbl} | " + " | ".join(cells) + f" | {ratio} |")
        L.append("")
    return "\n".join(L)


if __name__ == "__main__":
    main()
