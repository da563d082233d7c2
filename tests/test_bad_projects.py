"""The corpus of bad project files (tests/bad_inputs/projects.py) through ``nnviz summary`` and ``nnviz train``.

Each must end with exit status 2 and a message naming the problem, never a traceback,
and leave the file (its bytes, its mtime) and its folder as they were.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from nnviz.cli import main
from tests.bad_inputs.projects import CASES, NON_REGULAR, Case, write

ROOT = Path(__file__).resolve().parents[1]


def test_the_corpus_covers_every_class():
    names = [c.name for c in CASES]
    assert len(names) >= 60 and len(set(names)) == len(names)
    for stem in ("type-", "deep-", "int-", "surrogate-", "too-many-nodes", "file-too-large", "named-pipe",
                 "truncated-", "format-version-", "edge-missing-", "unknown-parameter"):  # fmt: skip
        assert any(n.startswith(stem) for n in names), stem


def _state(folder: Path) -> dict:
    """Every entry of ``folder``: its kind, size and mtime, and the bytes of regular files."""
    out = {}
    for entry in sorted(folder.iterdir()):
        info = os.lstat(entry)
        regular = stat.S_ISREG(info.st_mode)
        out[entry.name] = (
            info.st_mode,
            info.st_size,
            info.st_mtime_ns,
            entry.read_bytes() if regular else None,
        )
    return out


def _make(case: Case, tmp_path: Path) -> Path:
    if case.name == "named-pipe" and not hasattr(os, "mkfifo"):
        pytest.skip("this platform has no named pipes")
    folder = tmp_path / "projects"
    folder.mkdir()
    return write(case, folder)


@pytest.mark.parametrize("command", ["summary", "train"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_bad_project_ends_with_status_2_and_a_message(case, command, tmp_path, capsys):
    path = _make(case, tmp_path)
    before = _state(path.parent)
    argv = [command, str(path)] + (["--no-download", "--json"] if command == "train" else [])
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert code == 2, err
    assert case.expect in err.replace(str(path), "<file>"), err  # the name of the file is no answer
    assert err.startswith("nnviz: ") or "is not valid" in err
    if case.name not in NON_REGULAR and not case.name.startswith("unknown-"):
        assert str(path) in err  # the message names the file
    assert len(err) < 2000  # values are cut short, not printed in full
    assert _state(path.parent) == before  # nothing written, nothing touched


@pytest.mark.parametrize("name", ["surrogate-node-name", "deep-100k", "type-list", "named-pipe"])
def test_no_traceback_reaches_stderr_of_a_real_process(name, tmp_path):
    case = next(c for c in CASES if c.name == name)
    path = _make(case, tmp_path)
    before = _state(path.parent)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NNVIZ_LOG_DIR": str(tmp_path / "logs")}
    argv = ["train", str(path), "--no-download"] if name == "surrogate-node-name" else ["summary", str(path)]
    proc = subprocess.run(
        [sys.executable, "-m", "nnviz", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert case.expect in proc.stderr.replace(str(path), "<file>") and str(path) in proc.stderr
    assert proc.stderr.count("\n") == 1  # one line
    assert _state(path.parent) == before
