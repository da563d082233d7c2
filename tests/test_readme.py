"""README.md's set-up commands stay in step with what CI runs."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S)][:2]


def test_readme_starts_with_launch_and_test_commands():
    launch, test = _readme_commands()
    assert "pip install" in launch and launch.endswith("nnviz")
    assert "pip install" in test and "pytest" in test
    # lint and the layering contracts fail the command before any test runs
    for check in ("ruff check .", "ruff format --check .", "lint-imports"):
        assert check in test
    head = (ROOT / "README.md").read_text(encoding="utf-8")[:600]
    assert launch in head and test in head


def test_ci_runs_exactly_the_readme_test_command():
    _, test = _readme_commands()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test in ci.splitlines()
