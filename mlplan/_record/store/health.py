"""Is the store there? Told in seconds, without importing MLflow.

MLflow's own default is to retry a dead server for about four minutes, and to retry creating
a sqlite engine ten times with exponential back-off (~100 s) whatever the error; a user
waiting on `mlplan log-result` should hear within seconds, and the result waits in the outbox.
"""

from __future__ import annotations

import base64
import os
import urllib.error
import urllib.parse
import urllib.request

from mlplan._record.location import StoreLocation, redact
from mlplan.errors import StoreUnreachableError

__all__ = ["ENVIRONMENT_DEFAULTS", "probe", "set_environment_defaults"]

# Users can still override each of these in the environment.
ENVIRONMENT_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    # A busy team server (16 first writers at once on 2 workers) can take several seconds to
    # answer; a dead one refuses the connection at once whatever this says.
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "20",
    # MLflow prints a "View run at" link per run to stdout; mlplan's output names the run.
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
}
PROBE_TIMEOUT_S = 3.0
# A server that accepted the connection but is slow to answer is busy, not dead: wait longer.
BUSY_PROBE_TIMEOUT_S = 20.0


def set_environment_defaults() -> None:
    for name, value in ENVIRONMENT_DEFAULTS.items():
        os.environ.setdefault(name, value)


def probe(location: StoreLocation) -> None:
    """Fail fast, without importing mlflow, when the store cannot be used: a tracking server
    that does not answer, an embedded database that sqlite cannot open."""
    if location.embedded:
        _probe_database(location)
        return
    if not location.remote:
        return
    url = _health_request(location.uri)
    try:
        try:
            _get(url, PROBE_TIMEOUT_S)
        except (TimeoutError, urllib.error.URLError) as slow:
            if not isinstance(getattr(slow, "reason", slow), TimeoutError):
                raise
            _get(url, BUSY_PROBE_TIMEOUT_S)
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = redact(str(getattr(error, "reason", error)))
        raise StoreUnreachableError(
            f"the tracking server {redact(location.uri)} did not answer ({reason}). "
            "Check that it is running and MLFLOW_TRACKING_URI is right."
        ) from None


def _probe_database(location: StoreLocation) -> None:
    # A folder, a damaged or truncated file is not going to heal while MLflow retries.
    import sqlite3

    database = location.database
    if not database.exists():
        return  # MLflow creates it, under the store lock
    try:
        connection = sqlite3.connect(f"{database.as_uri()}?mode=rw", uri=True, timeout=30)
        try:
            connection.execute("PRAGMA schema_version").fetchone()
        finally:
            connection.close()
    except sqlite3.Error as error:
        if "locked" in str(error):
            return  # busy, not broken: MLflow waits for it
        raise StoreUnreachableError(
            f"the embedded store {database} cannot be opened ({error}). Check that the "
            "database is intact and its folder writable."
        ) from None


def _get(url: urllib.request.Request, timeout: float) -> None:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        response.read()


def _health_request(uri: str) -> urllib.request.Request:
    # urllib cannot open http://user:password@host itself (it reads "password@host" as a
    # port), so the credentials move into the header a server with basic auth expects.
    # /health goes on the path, before any ?query (a token there must not swallow it).
    parts = urllib.parse.urlsplit(uri)
    parts = parts._replace(path=parts.path.rstrip("/") + "/health")
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port is not None else "")
    request = urllib.request.Request(urllib.parse.urlunsplit(parts._replace(netloc=netloc)))
    if parts.username is not None:
        user = urllib.parse.unquote(parts.username)
        password = urllib.parse.unquote(parts.password or "")
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        request.add_header("Authorization", f"Basic {token}")
    return request
