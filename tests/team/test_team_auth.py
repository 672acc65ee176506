"""A server with MLflow's basic-auth app: credentials come from MLflow's own variables; a 401
or 403 is told as such (which variable to set), exits 1 without a traceback or the secret, and
the result waits in the outbox for that server; a reader can still run status and render."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import TODAY, cli

pytestmark = [pytest.mark.server, pytest.mark.postgres]

ADMIN = ("admin", "admin-secret-4f1c")  # as configured by the auth_server fixture


def login(monkeypatch: pytest.MonkeyPatch, username: str, password: str) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", username)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password)


def logout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD", raising=False)


def outbox(plan: Path) -> list[Path]:
    return sorted((plan.parent / ".mlplan" / "outbox").glob("*.json"))


@pytest.fixture
def plan_with_a_result(
    auth_server: Any, make_plan: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A plan whose experiment an admin has created by logging a baseline result."""
    import uuid

    plan = make_plan(plan_id=f"auth-{uuid.uuid4().hex[:8]}")
    login(monkeypatch, *ADMIN)
    assert cli("log-result", plan, "-B", "B1", "-m", "recall=0.6", "--tracking-uri",
               auth_server.url) == 0  # fmt: skip
    logout(monkeypatch)
    return plan


def test_no_credentials_is_told_and_the_result_waits_for_that_server(
    auth_server: Any,
    plan_with_a_result: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    plan, url = plan_with_a_result, auth_server.url
    capsys.readouterr()
    code = cli("log-result", plan, "-H", "H1", "-m", "recall=0.7", "--tracking-uri", url)
    err = capsys.readouterr().err
    assert code == 1
    assert "401" in err
    assert "MLFLOW_TRACKING_USERNAME" in err
    assert "did not answer" not in err
    assert "Traceback" not in err
    assert len(outbox(plan)) == 1

    # With the right variables set, the waiting result goes to that server.
    login(monkeypatch, *ADMIN)
    assert cli("sync", plan, "--tracking-uri", url) == 0
    assert "Delivered 1 waiting result " in capsys.readouterr().out
    assert outbox(plan) == []


def test_a_wrong_password_is_told_without_printing_it(
    auth_server: Any,
    plan_with_a_result: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret = "not-the-password-91ac"
    login(monkeypatch, ADMIN[0], secret)
    capsys.readouterr()
    code = cli("status", plan_with_a_result, "--tracking-uri", auth_server.url)
    captured = capsys.readouterr()
    assert code == 1
    assert "401" in captured.err
    assert secret not in captured.out + captured.err
    assert "Traceback" not in captured.err


def test_a_reader_can_read_but_a_write_is_refused_with_403(  # noqa: PLR0917
    auth_server: Any,
    plan_with_a_result: Path,
    make_plan: Callable[..., Path],
    make_user: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import uuid

    url = auth_server.url
    reader = (f"reader-{uuid.uuid4().hex[:6]}", "reader-password-77")
    make_user(auth_server, *reader)
    login(monkeypatch, *reader)

    capsys.readouterr()
    assert cli("status", plan_with_a_result, "--json", "--today", TODAY, "--tracking-uri", url) == 0
    assert '"results": 1' in capsys.readouterr().out
    assert cli("render", plan_with_a_result, "--today", TODAY, "--tracking-uri", url) == 0
    assert "Read from" in capsys.readouterr().out

    # The reader's own checkout of the same plan: the write is refused, and kept.
    checkout = make_plan(folder="reader", text=plan_with_a_result.read_text())
    code = cli("log-result", checkout, "-H", "H1", "-m", "recall=0.7", "--tracking-uri", url)
    err = capsys.readouterr().err
    assert code == 1
    assert "403" in err
    assert reader[0] in err
    assert reader[1] not in err
    assert "Traceback" not in err
    assert len(outbox(checkout)) == 1

    # Reading that checkout: what waits keeps waiting (said why), and the reader still sees
    # the verdicts instead of an exit 1 for a write they never asked for.
    assert cli("status", checkout, "--today", TODAY, "--tracking-uri", url) == 0
    shown = "".join(capsys.readouterr())
    assert "waits for" in shown
    assert "403" in shown
    assert "Traceback" not in shown
    assert cli("render", checkout, "--today", TODAY, "--tracking-uri", url) == 0
    assert len(outbox(checkout)) == 1

    # Once an account that may write is set, the same result goes to that server.
    login(monkeypatch, *ADMIN)
    assert cli("sync", checkout, "--tracking-uri", url) == 0
    assert outbox(checkout) == []
