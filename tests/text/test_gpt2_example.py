"""examples/gpt2_generate.py runs as a user would run it: a tiny random model, saved and
loaded back through a model folder, decoded with a tokenizer.json when one is there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "examples" / "gpt2_generate.py"


def _run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=120, cwd=REPO)


def _new_ids(out):
    line = next(x for x in out.splitlines() if x.startswith("new ids: "))
    return [int(i) for i in line.removeprefix("new ids: [").rstrip("]").split(", ")]


def test_random_tiny_then_its_folder(tmp_path):
    first = _run("--random-tiny", "--ids", "464", "2068", "7586", "--max-new-tokens", "6",
                 "--save-dir", str(tmp_path / "tiny"))
    assert first.returncode == 0, first.stderr
    assert "prompt ids: [464, 2068, 7586]" in first.stdout
    new = _new_ids(first.stdout)
    assert len(new) == 6 and all(0 <= i < 50257 for i in new)
    assert sorted(p.name for p in (tmp_path / "tiny").iterdir()) == ["config.json",
                                                                      "model.safetensors"]
    second = _run("--model-dir", str(tmp_path / "tiny"), "--ids", "464", "2068", "7586",
                  "--max-new-tokens", "6")
    assert second.returncode == 0, second.stderr
    assert _new_ids(second.stdout) == new  # greedy from the saved folder: the same tokens
    assert "text:" not in second.stdout

    tokenizers = pytest.importorskip("tokenizers")
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    tokenizer = tokenizers.Tokenizer(WordLevel({f"w{i}": i for i in range(50257)}, "w0"))
    tokenizer.pre_tokenizer = Whitespace()
    tokenizer.save(str(tmp_path / "tiny" / "tokenizer.json"))
    third = _run("--model-dir", str(tmp_path / "tiny"), "--ids", "464", "2068", "7586",
                 "--max-new-tokens", "6")
    words = " ".join(f"w{i}" for i in [464, 2068, 7586, *new])
    assert f"text: '{words}'" in third.stdout, third.stdout + third.stderr


def test_out_of_vocabulary_id_is_a_clear_error():
    proc = _run("--random-tiny", "--ids", "50257")
    assert proc.returncode == 2
    assert "input_ids holds token id 50257, outside the vocabulary [0, 50257)" in proc.stderr
