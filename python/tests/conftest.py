"""Shared fixtures: the repository's data files and the newsclass command-line binary."""

import csv
import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
MODELS = ROOT / "models"
# The sentence encoder's weights (scripts/get-encoder), for the tests that train with it.
ENCODER = ROOT / "models" / "encoder" / "all-MiniLM-L6-v2"
CLI = Path(os.environ.get("NEWSCLASS_BIN", ROOT / "target" / "release" / "newsclass"))


def read_csv(path):
    """Texts and {head: labels} of a labeled CSV file (text, topic, stance columns)."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    texts = [r["text"] for r in rows]
    return texts, {"topic": [r["topic"] for r in rows], "stance": [r["stance"] for r in rows]}


@pytest.fixture(scope="session")
def train_data():
    return read_csv(DATA / "train.csv")


@pytest.fixture(scope="session")
def test_data():
    return read_csv(DATA / "test.csv")


@pytest.fixture(scope="session")
def cli():
    """Run the CLI binary with arguments; return its stdout. Skips when it is not built."""
    if not CLI.is_file():
        pytest.skip(f"{CLI} is not built (cargo build --release); skipping the comparison with the CLI")

    def run(*args, cwd=ROOT):
        out = subprocess.run(
            [str(CLI), *map(str, args)], cwd=cwd, capture_output=True, text=True
        )
        assert out.returncode == 0, f"newsclass {' '.join(map(str, args))}: {out.stderr}"
        return out.stdout

    return run


def jsonl(s):
    return [json.loads(line) for line in s.splitlines()]
