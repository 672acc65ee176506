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
from typing import Any

import pytest

HEAVY = ("mlflow", "matplotlib", "scipy")

SCRIPT = f"""\
import json, sys
from mlplan._cli import main
code = main(sys.argv[1:])
heavy = sorted(m for m in sys.modules if m.split('.')[0] in {set(HEAVY)!r})
print(json.dumps({{"code": code, "heavy": heavy, "modules": sorted(sys.modules)}}), file=sys.stderr)
"""


def probe(argv: list[str], cwd: Path) -> dict[str, Any]:
    """Run the CLI in a fresh interpreter: its exit code, the heavy packages and every module it
    imported, and what it printed on stdout."""
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
    )
    report: dict[str, Any] = json.loads(result.stderr.strip().splitlines()[-1])
    report["stdout"] = result.stdout
    return report


def run_fresh(argv: list[str], cwd: Path) -> tuple[int, list[str], str]:
    report = probe(argv, cwd)
    return report["code"], report["heavy"], report["stdout"]


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
            "import mlplan._judge.stats as s; s.success_p\ns.holm([0.5])\nimport scipy.stats\n"
            + SCRIPT,
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


# What each light command must not load besides the heavy packages: --help builds no pydantic
# model (pydantic.main is where model construction lives), and validate renders no template.
@pytest.mark.parametrize(
    ("argv", "absent"),
    [
        (["--help"], {"pydantic.main", "mlplan._plan.models", "jinja2", "rich"}),
        (["--version"], {"pydantic.main", "mlplan._plan.models", "jinja2", "rich"}),
        (["validate", "plan.yaml"], {"jinja2", "mlplan._judge.verdicts", "mlplan._api"}),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else "",
)
def test_light_commands_load_only_what_they_use(
    argv: list[str], absent: set[str], make_plan: Callable[..., Path], tmp_path: Path
) -> None:
    make_plan()
    report = probe(argv, cwd=tmp_path / "project")
    assert report["code"] == 0
    assert absent.isdisjoint(report["modules"]), absent & set(report["modules"])
    if argv[0] == "validate":  # the probe is not blind: validate does build the models
        assert "mlplan._plan.models" in report["modules"]
