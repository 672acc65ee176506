"""What MLflow, HTTP and sqlite raise, told as mlplan's store errors.

Two outcomes matter to the journal: a request the store *refused* (TrackingError: sending it
again cannot help, so the result is refused, or parked in the outbox), and a store that is
*unavailable* (StoreUnreachableError: down, stalled, locked, corrupt, unwritable; the result
waits for it). A 401 or 403 is told as StoreAuthError, naming what to set.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any

from mlplan._record.location import StoreLocation, redact, scrub, without_secrets
from mlplan._record.locks import STORE_TIMEOUT_S
from mlplan.errors import StoreAuthError, StoreUnreachableError, TrackingError

__all__ = ["refusal", "shown", "store_errors"]

_UNAUTHENTICATED = ("UNAUTHENTICATED", "CUSTOMER_UNAUTHORIZED")
# MLflow error codes that mean "this request is wrong": sending it again cannot help, so the
# result is refused (or, from the outbox, parked). Every other failure is the store being
# unavailable -- down, stalled, locked, corrupt, unwritable -- and the result waits for it.
_REFUSED = frozenset(
    {"INVALID_PARAMETER_VALUE", "BAD_REQUEST", "INVALID_STATE", "RESOURCE_DOES_NOT_EXIST"}
)


# A store named without its credentials (no user info, query values masked): in messages that
# quote the store, and in the local copy's file name (client.py).
shown = without_secrets


def refusal(error: Any, what: str, uri: str = "") -> TrackingError:
    """The mlplan error for an MlflowException: refused, unauthorised, or unavailable.

    ``uri`` is the store's URI as configured: shown without its credentials, and its own user
    info masked in what the server said, as are MLFLOW_TRACKING_TOKEN and _PASSWORD (a server
    or proxy may echo the request's Authorization header in its error)."""
    denied = _auth_refusal(error, shown(uri))
    if denied is not None:
        return denied
    message = scrub(" ".join(str(getattr(error, "message", error)).split()), uri)
    code = str(getattr(error, "error_code", ""))
    if code in _REFUSED and not _database_broke(error):
        return TrackingError(f"{what}: {message[:2000]}")
    return StoreUnreachableError(
        f"the store could not be used ({code}: {message[:300]}). Check that the server is "
        "healthy, or that the database is intact and its folder writable."
    )


def _auth_refusal(error: Any, uri: str) -> StoreAuthError | None:
    """A 401 or 403 told as such, naming what to set; never the credentials themselves."""
    code = str(getattr(error, "error_code", ""))
    message = str(getattr(error, "message", error))
    if code in _UNAUTHENTICATED or "error code 401" in message:
        return StoreAuthError(
            f"the tracking server {uri} needs you to log in (401 Unauthorized). Set "
            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN) "
            "to your account on that server."
        )
    if code == "PERMISSION_DENIED" or "error code 403" in message:
        user = os.environ.get("MLFLOW_TRACKING_USERNAME", "")
        who = f"user {user!r}" if user else "your account"
        return StoreAuthError(
            f"the tracking server {uri} refused {who} permission for this (403 Forbidden). "
            "Ask an admin of that server for EDIT permission on the plan's experiment, or set "
            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD to an account that has it.",
            status=HTTPStatus.FORBIDDEN,
        )
    return None


def _database_broke(error: BaseException) -> bool:
    # MLflow reports any SQLAlchemy error but a lost connection as BAD_REQUEST, among them "file
    # is not a database": that is a damaged store, not a wrong request.
    from sqlalchemy.exc import SQLAlchemyError

    return isinstance(error.__cause__, SQLAlchemyError)


@contextlib.contextmanager
def store_errors(location: StoreLocation) -> Iterator[None]:
    """Turn what MLflow and the environment raise into mlplan's two store errors.

    A corrupt or unwritable database, a missing database driver or a dropped connection is
    the user's environment, not a bug in mlplan: one message, and the result kept.
    """
    try:
        yield
    except TrackingError:
        raise
    except Exception as error:
        unavailable = _unavailable(error, location)
        if unavailable is None:
            raise
        raise unavailable from None


def _unavailable(error: Exception, location: StoreLocation) -> TrackingError | None:
    from mlflow.exceptions import MlflowException
    from sqlalchemy.exc import SQLAlchemyError

    where = location.describe()
    if isinstance(error, MlflowException):
        return refusal(error, f"{where} refused the request", location.uri)
    if isinstance(error, ImportError):
        missing = scrub(str(error), location.uri)
        return StoreUnreachableError(
            f"{where} needs a module that is not installed ({missing}); install the database "
            "driver MLflow needs for this URI, e.g. pip install 'psycopg[binary]'"
        )
    if isinstance(error, TimeoutError):  # filelock's Timeout: the store's writer lock
        return StoreUnreachableError(
            f"{where} is being written by another process, which has held its lock "
            f"({location.home / 'store.lock'}) for {STORE_TIMEOUT_S} s; run this again once "
            "it is done."
        )
    if isinstance(error, OSError) and not _the_stores(error, location):
        return _file_gone(error)
    if isinstance(error, SQLAlchemyError | OSError):
        detail = " ".join(str(getattr(error, "orig", None) or error).split())
        detail = scrub(detail, location.uri)[:300]
        if location.embedded and "already exists" in detail:
            # MLflow's creation of its tables is not atomic: one stopped by a full disk leaves
            # a database every later migration trips over (the final re-check of issue 16).
            return StoreUnreachableError(
                f"{where} was left half-made by an earlier creation that stopped (a full disk?):"
                f" {detail}. If it has never held results, move {location.database} away and "
                "run this again; mlplan makes a new one."
            )
        return StoreUnreachableError(
            f"{where} could not be used ({type(error).__name__}: {detail}). Check that "
            "the database is intact and its folder writable."
        )
    return None


def _the_stores(error: OSError, location: StoreLocation) -> bool:
    """Whether a file error is the store's own (its database, artifacts, locks and outbox,
    under the plan's .mlplan folder), or has no file to name."""
    if not error.filename:
        return True
    path = Path(os.fsdecode(error.filename)).absolute()
    return location.home == path or location.home in path.parents


def _file_gone(error: OSError) -> StoreUnreachableError:
    """A file the result was logged with, outside the store (the plan file, most often),
    named as such: "check that the database is intact" once sent a user looking at a healthy
    store when an entry point had deleted plan.yaml (issue 16)."""
    path = os.fsdecode(error.filename)
    what = (
        "is gone (deleted or moved while mlplan was running)"
        if isinstance(error, FileNotFoundError)
        else f"could not be read ({error.strerror or type(error).__name__})"
    )
    return StoreUnreachableError(
        f"{redact(path)} {what}; the store itself is not at fault. Put the file back, then run "
        "`mlplan sync`."
    )
