"""A real team setup for the tests in this folder: `mlflow server` on 127.0.0.1, backed by a
fresh PostgreSQL or MariaDB database that the session creates and drops.

The databases are the machine's own: PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and
MariaDB on 127.0.0.1:3306 (root, no password). When one is not running, its tests are skipped
with the command that starts it; with MLPLAN_REQUIRE_SERVICES=1 (as in CI) they fail instead,
so a missing database is never a silent pass.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import TODAY, cli, free_port, require_service

HOST = "127.0.0.1"
PG_PORT = 5432
MARIADB_PORT = 3306
START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
START_MARIADB = "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd"
SERVER_START_TIMEOUT_S = 600  # a busy 2-core CI machine can take minutes
ADMIN = ("admin", "admin-secret-4f1c")


def driver(module: str) -> Any:
    """The database driver from the `team` extra, or a failure saying how to install it."""
    try:
        return __import__(module)
    except ImportError:
        pytest.fail(f"{module} is missing: pip install -e '.[team]'", pytrace=False)


def unique_name() -> str:
    return f"mlplan_test_{uuid.uuid4().hex[:12]}"


# -- databases -------------------------------------------------------------------------------


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards; yields its SQLAlchemy URI.

    ``postgresql+psycopg`` names the psycopg 3 driver explicitly: SQLAlchemy 2.0 would take
    a bare ``postgresql://`` to mean psycopg2, which the test extra does not install.
    """
    require_service("postgres", start=START_POSTGRES)
    admin = driver("psycopg").connect(
        host=HOST, port=PG_PORT, user="postgres", dbname="postgres", connect_timeout=10
    )
    name = unique_name()
    admin.autocommit = True
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@{HOST}:{PG_PORT}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@contextmanager
def mariadb_database() -> Iterator[str]:
    """A fresh MariaDB database, dropped afterwards; yields its SQLAlchemy URI (PyMySQL)."""
    require_service("mariadb", start=START_MARIADB)
    admin = driver("pymysql").connect(
        host=HOST, port=MARIADB_PORT, user="root", connect_timeout=10, autocommit=True
    )
    name = unique_name()
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}`")
    try:
        yield f"mysql+pymysql://root@{HOST}:{MARIADB_PORT}/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


# -- servers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    url: str
    backend: str  # the database URI, for tests that start a second server on it
    root: Path


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"mlflow server exited with {process.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"mlflow server at {url} did not become healthy")


@contextmanager
def mlflow_server(
    root: Path,
    backend: str,
    *,
    port: int | None = None,
    workers: int = 2,
    extra: tuple[str, ...] = (),
    environment: dict[str, str] | None = None,
) -> Iterator[Server]:
    """`mlflow server` on 127.0.0.1 with proxied artifacts under ``root``; stopped afterwards."""
    root.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    url = f"http://{HOST}:{port}"
    env = {
        **os.environ,
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "HOME": str(root),
        **(environment or {}),
    }
    command = [
        *(sys.executable, "-m", "mlflow", "server", "--host", HOST, "--port", str(port)),
        *("--backend-store-uri", backend),
        *("--artifacts-destination", str(root / "artifacts")),
        *("--workers", str(workers)),
        *extra,
    ]
    log = root / f"server-{port}.log"
    with log.open("wb") as stream:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=stream, stderr=stream)
    try:
        wait_until_healthy(url, process, log)
        yield Server(url=url, backend=backend, root=root)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One PostgreSQL-backed server (2 workers, as a team would run it) for the session."""
    with (
        postgres_database() as backend,
        mlflow_server(tmp_path_factory.mktemp("pg-server"), backend) as server,
    ):
        yield server


@pytest.fixture(scope="session")
def mariadb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with (
        mariadb_database() as backend,
        mlflow_server(tmp_path_factory.mktemp("mariadb-server"), backend) as server,
    ):
        yield server


@pytest.fixture(scope="session")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A PostgreSQL-backed server with MLflow's basic-auth app: admin is ``ADMIN``, new users
    may read every experiment and write none (``default_permission = READ``)."""
    root = tmp_path_factory.mktemp("auth-server")
    config = root / "basic_auth.ini"
    config.write_text(
        "[mlflow]\n"
        "default_permission = READ\n"
        f"database_uri = sqlite:///{root / 'users.db'}\n"
        f"admin_username = {ADMIN[0]}\n"
        f"admin_password = {ADMIN[1]}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )
    with (
        postgres_database() as backend,
        mlflow_server(
            root,
            backend,
            workers=1,
            extra=("--app-name", "basic-auth"),
            # The auth app refuses to start without a fixed key for its CSRF tokens.
            environment={
                "MLFLOW_AUTH_CONFIG_PATH": str(config),
                "MLFLOW_FLASK_SERVER_SECRET_KEY": uuid.uuid4().hex,
            },
        ) as server,
    ):
        yield server


def create_user(server: Server, username: str, password: str) -> None:
    """Create a user through the auth app's REST API, as an admin would."""
    request = urllib.request.Request(
        f"{server.url}/api/2.0/mlflow/users/create",
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json", **basic_auth(*ADMIN)},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


def basic_auth(username: str, password: str) -> dict[str, str]:
    import base64

    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


# -- using them ------------------------------------------------------------------------------


@pytest.fixture
def start_server() -> Callable[..., Any]:
    """``start_server(root, backend, port=...)``: a context manager for another server."""
    return mlflow_server


@pytest.fixture
def unused_port() -> int:
    return free_port()


@pytest.fixture
def runs_of() -> Callable[[str, str], list[Any]]:
    """Every run of a plan's experiment, whatever its state, read with MLflow's own client."""
    return all_runs


@pytest.fixture
def make_user() -> Callable[[Server, str, str], None]:
    return create_user


def all_runs(uri: str, plan_id: str) -> list[Any]:
    """Every run of the plan's experiment, whatever its state, straight from MLflow."""
    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(f"mlplan/{plan_id}")
    if experiment is None:
        return []
    runs: list[Any] = []
    token = None
    while True:
        page = client.search_runs(
            [experiment.experiment_id],
            run_view_type=ViewType.ALL,
            max_results=1000,
            page_token=token,
        )
        runs += page
        token = page.token
        if not token:
            return runs


@pytest.fixture
def status_json(capsys: pytest.CaptureFixture[str]) -> Callable[..., dict[str, Any]]:
    def read(plan: Path, uri: str, *extra: str) -> dict[str, Any]:
        capsys.readouterr()
        code = cli("status", plan, "--json", "--today", TODAY, "--tracking-uri", uri, *extra)
        captured = capsys.readouterr()
        assert code == 0, captured.err
        report: dict[str, Any] = json.loads(captured.out)
        return report

    return read
