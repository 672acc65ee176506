"""Start-up stays light: the plan-only commands never import mlflow, matplotlib or scipy.

mlflow costs over a second to import; scipy.stats is only needed where verdicts are computed.
Each command runs in a fresh interpreter (that is the point: in this process other tests have
long imported everything), through
``mlplan._cli.main``, which then prints which heavy top-level packages got imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

HEAVY = ("mlflow", "matplotlib", "scipy")

SCRIPT = f"""\
import json, sys
from mlplan._cli import main
code = main(sys.argv[1:])
heavy = sorted(m for m in sys.modules if m.split('.')[0] in {set(HEAVY)!r})
print(json.dumps({{"code": code, "heavy": heavy}}), file=sys.stderr)
"""


def run_fresh(argv: list[str], cwd: Path) -> tuple[int, list[str], str]:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
    )
    report = json.loads(result.stderr.strip().splitlines()[-1])
    return report["code"], report["heavy"], result.stdout


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["validate", "plan.yaml"], ["render", "plan.yaml"], ["new", "fresh"], ["schema"]],
    ids=" ".join,
)
def test_plan_commands_do_not_import_mlflow_matplotlib_or_scipy(
    argv: list[str], make_plan: Callable[..., Path], tmp_path: Path
) -> None:
    make_plan()
    code, heavy, out = run_fresh(argv, cwd=tmp_path / "project")
    assert code == 0
    assert heavy == []
    assert out  # the command did its work: help, a report, a doc, a message or a schema


def test_the_probe_sees_a_heavy_import(tmp_path: Path) -> None:
    # The same probe, after importing matplotlib itself, must report it: the test above
    # cannot pass merely because the probe is blind.
    result = subprocess.run(
        [sys.executable, "-c", "import matplotlib\n" + SCRIPT, "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    report = json.loads(result.stderr.strip().splitlines()[-1])
    assert report["code"] == 0
    assert "matplotlib" in report["heavy"]
    assert "mlflow" not in report["heavy"]


def test_the_probe_sees_scipy(tmp_path: Path) -> None:
    # Judging imports scipy: the probe must see it, or the test above proves nothing for it.
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import mlplan._stats as s; s.success_p\ns.holm([0.5])\nimport scipy.stats\n" + SCRIPT,
            "--version",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    report = json.loads(result.stderr.strip().splitlines()[-1])
    assert "scipy" in report["heavy"]
