"""The health probe's address: /health on the server's path, whatever else the URI holds."""

from __future__ import annotations

import base64

import pytest

from mlplan._record.store.health import _health_request


@pytest.mark.parametrize(
    ("uri", "url"),
    [
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000/health"),
        ("http://127.0.0.1:5000/", "http://127.0.0.1:5000/health"),
        ("https://host/mlflow/", "https://host/mlflow/health"),
        # a token in the query stays the query: it once swallowed the path (`?token=x/health`)
        ("http://host:8080/ml?token=abc", "http://host:8080/ml/health?token=abc"),
        ("http://[::1]:5000", "http://[::1]:5000/health"),
    ],
)
def test_health_goes_on_the_path(uri: str, url: str) -> None:
    assert _health_request(uri).full_url == url


def test_credentials_move_into_a_basic_auth_header() -> None:
    request = _health_request("http://al%40ice:p%3Aw@host:5000")
    assert request.full_url == "http://host:5000/health"
    header = request.get_header("Authorization") or ""
    assert base64.b64decode(header.removeprefix("Basic ")) == b"al@ice:p:w"
