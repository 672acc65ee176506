"""What every worked project's run.py says about where its results went, and how it stops when
they cannot go there: the README's team demo runs these against a server."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # mypy_path = tests: mypy knows this folder as `examples`
    from examples._helpers import load_run_module
else:  # pytest puts this folder on sys.path
    from _helpers import load_run_module

PROJECTS = ("ridge", "lighttrack", "gcn_extractor")


def _closed_port() -> int:
    with socket.socket() as probe:  # bound, then released: nothing listens there now
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("project", PROJECTS)
def test_a_server_that_does_not_answer_is_one_message_and_exit_1(
    project: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    code = load_run_module(project).main(["--out", str(tmp_path / "out"), "--quick"])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.startswith("error: ")
    assert url in captured.err
    if project == "lighttrack":  # its timed runs are measured and logged before the matrix
        assert "outbox" in captured.err  # the result is kept, and the message says where
    else:  # every result goes through `mlplan run`, which asks the store before any cell runs
        assert "did not answer" in captured.err
    assert "Traceback" not in captured.err
    assert not (tmp_path / "out" / ".mlplan" / "mlflow.db").exists()  # nothing went elsewhere


@pytest.mark.parametrize("project", PROJECTS)
def test_the_store_printed_is_the_one_the_tracking_uri_names(
    project: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    where = load_run_module(project)._where
    out = tmp_path / "out"
    assert where(out) == (
        f"sqlite:///{out / '.mlplan' / 'mlflow.db'}",
        f"mlflow ui --backend-store-uri sqlite:///{out / '.mlplan' / 'mlflow.db'}",
    )
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert where(out) == ("http://127.0.0.1:5000", "open http://127.0.0.1:5000 in a browser")
