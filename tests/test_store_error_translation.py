"""What MLflow, sqlite and the environment raise, told as mlplan's store errors
(mlplan._record.store.errors): a wrong request is refused (TrackingError), everything else
means the store is unavailable (StoreUnreachableError, the result waits), a 401 or 403 names
what to set, and no message carries a password or a token."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.exc import OperationalError

from mlplan._record.location import StoreLocation
from mlplan._record.store.errors import refusal, shown, store_errors
from mlplan.errors import StoreAuthError, StoreUnreachableError, TrackingError

if TYPE_CHECKING:
    from mlflow.exceptions import MlflowException

SECRET = "s3cr3t-token"


def mlflow_error(code: str, message: str = "the request was bad") -> MlflowException:
    from mlflow.exceptions import MlflowException
    from mlflow.protos import databricks_pb2

    return MlflowException(message, error_code=getattr(databricks_pb2, code))


@pytest.mark.parametrize(
    "code", ["INVALID_PARAMETER_VALUE", "BAD_REQUEST", "INVALID_STATE", "RESOURCE_DOES_NOT_EXIST"]
)
def test_a_wrong_request_is_refused_not_waited_for(code: str) -> None:
    error = refusal(mlflow_error(code, f"bad value at http://h/x?token={SECRET}"), "log it")
    assert type(error) is TrackingError
    assert str(error).startswith("log it: bad value at http://h/x?token=")
    assert SECRET not in str(error)


def test_any_other_mlflow_failure_means_the_store_is_unavailable() -> None:
    error = refusal(mlflow_error("TEMPORARILY_UNAVAILABLE", "try   later\n please"), "log it")
    assert type(error) is StoreUnreachableError
    # The code is named, and the message's whitespace is folded onto one line.
    assert "(TEMPORARILY_UNAVAILABLE: try later please)" in str(error)


def test_a_bad_request_caused_by_a_broken_database_means_the_store_is_unavailable() -> None:
    # MLflow reports "file is not a database" as BAD_REQUEST: that is a damaged store.
    error = mlflow_error("BAD_REQUEST", "file is not a database")
    error.__cause__ = OperationalError("SELECT 1", {}, Exception("file is not a database"))
    told = refusal(error, "log it")
    assert type(told) is StoreUnreachableError
    assert "BAD_REQUEST: file is not a database" in str(told)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("UNAUTHENTICATED", "no token"),
        ("INTERNAL_ERROR", "API request failed with error code 401 != 200"),
    ],
)
def test_a_401_asks_for_credentials_and_stops(code: str, message: str) -> None:
    told = refusal(mlflow_error(code, message), "log it", "http://mlflow.example")
    assert isinstance(told, StoreAuthError)
    assert told.status == 401
    assert "the tracking server http://mlflow.example needs you to log in" in str(told)
    assert "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD" in str(told)


def test_a_403_names_the_account_that_was_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "ada")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", SECRET)
    told = refusal(mlflow_error("PERMISSION_DENIED"), "log it", "http://mlflow.example")
    assert isinstance(told, StoreAuthError)
    assert told.status == 403
    assert "refused user 'ada' permission" in str(told)
    assert SECRET not in str(told)


def test_a_403_without_a_user_name_says_your_account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
    error = mlflow_error("INTERNAL_ERROR", "API request failed with error code 403 != 200")
    told = refusal(error, "log it", "http://mlflow.example")
    assert isinstance(told, StoreAuthError)
    assert told.status == 403
    assert "refused your account permission" in str(told)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (f"http://ada:{SECRET}@mlflow.example:5000/", "http://mlflow.example:5000/"),
        (f"https://{SECRET}@mlflow.example/", "https://mlflow.example/"),
        (f"https://mlflow.example/?token={SECRET}", "https://mlflow.example/?token=***"),
        ("sqlite:///tmp/a@b/mlflow.db", "sqlite:///tmp/a@b/mlflow.db"),
        ("https://mlflow.example/teams/@ml/", "https://mlflow.example/teams/@ml/"),
        ("http://mlflow.example/?next=a@b", "http://mlflow.example/?next=***"),
        (f"no-scheme?token={SECRET}", "no-scheme?token=***"),
    ],
)
def test_a_uri_is_shown_without_its_credentials(uri: str, expected: str) -> None:
    assert shown(uri) == expected


def location(tmp_path: Path, uri: str = "") -> StoreLocation:
    if uri:
        return StoreLocation(uri=uri, embedded=False, home=tmp_path / ".mlplan")
    return StoreLocation(uri="sqlite:///x", embedded=True, home=tmp_path / ".mlplan")


def test_a_missing_database_driver_says_what_to_install(tmp_path: Path) -> None:
    where = location(tmp_path, "postgresql://db/mlflow")
    with pytest.raises(StoreUnreachableError) as raised, store_errors(where):
        raise ModuleNotFoundError("No module named 'psycopg2'")
    assert str(raised.value).startswith("postgresql://db/mlflow needs a module that is not")
    assert "No module named 'psycopg2'" in str(raised.value)
    assert "pip install 'psycopg[binary]'" in str(raised.value)
    assert raised.value.__cause__ is None  # told once, without the chain


def test_an_unwritable_database_is_unavailable_and_names_the_store(tmp_path: Path) -> None:
    where = location(tmp_path)
    with pytest.raises(StoreUnreachableError) as raised, store_errors(where):
        raise PermissionError(13, "Permission denied")
    message = str(raised.value)
    assert message.startswith(f"the embedded store {where.database} could not be used")
    assert "(PermissionError: [Errno 13] Permission denied)" in message


def test_an_embedded_store_left_half_made_says_what_to_do(tmp_path: Path) -> None:
    """A first creation stopped by a full disk left tables every later migration trips over
    ("table webhooks already exists"): the final re-check of issue 16 found every command
    telling the user to check that the database is intact."""
    where = location(tmp_path)
    with pytest.raises(StoreUnreachableError) as raised, store_errors(where):
        raise OperationalError(
            "CREATE TABLE webhooks", {}, Exception("table webhooks already exists")
        )
    message = str(raised.value)
    assert "was left half-made" in message and f"move {where.database} away" in message
    assert "intact" not in message


def test_a_store_lock_held_too_long_says_who_holds_it(tmp_path: Path) -> None:
    from filelock import Timeout

    where = location(tmp_path)
    with pytest.raises(StoreUnreachableError) as raised, store_errors(where):
        raise Timeout(str(where.home / "store.lock"))
    assert "is being written by another process" in str(raised.value)
    assert str(raised.value).endswith("once it is done.")


def test_a_database_error_is_told_by_its_driver_message_with_secrets_masked(
    tmp_path: Path,
) -> None:
    where = location(tmp_path, f"mysql://ada:{SECRET}@db/mlflow")
    driver = Exception(f"cannot connect to mysql://ada:{SECRET}@db/mlflow")
    with pytest.raises(StoreUnreachableError) as raised, store_errors(where):
        raise OperationalError("SELECT 1", {}, driver)
    message = str(raised.value)
    assert SECRET not in message
    assert "(OperationalError: cannot connect to mysql://ada:***@db/mlflow)" in message


def test_an_mlflow_refusal_inside_a_store_call_is_told_by_refusal(tmp_path: Path) -> None:
    where = location(tmp_path, f"https://mlflow.example/?token={SECRET}")
    with pytest.raises(TrackingError) as raised, store_errors(where):
        raise mlflow_error("INVALID_PARAMETER_VALUE", "metric key too long")
    assert type(raised.value) is TrackingError
    assert str(raised.value) == (
        "https://mlflow.example/?token=*** refused the request: metric key too long"
    )


def test_mlplans_own_errors_and_bugs_pass_through_unchanged(tmp_path: Path) -> None:
    where = location(tmp_path)
    ours = TrackingError("already told")
    with pytest.raises(TrackingError) as raised, store_errors(where):
        raise ours
    assert raised.value is ours
    # Anything else is a bug of ours, not the store's: it keeps its traceback.
    with pytest.raises(KeyError, match="a bug"), store_errors(where):
        raise KeyError("a bug")
