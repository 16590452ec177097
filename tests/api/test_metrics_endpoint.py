"""The /metrics endpoint as a scraper, a browser and a scanner meet it: /metrics alone, GET and
HEAD alone, and no `_created` series in either exposition format."""

from __future__ import annotations

import http.client
from collections.abc import Iterator

import pytest

from twofa_client import TwoFactorClient
from twofa_server.app import Application

from ..support.clock import FixedClock
from ..support.enroll import enroll_app

OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"


@pytest.fixture
def endpoint(app: Application) -> Iterator[http.client.HTTPConnection]:
    host, _, port = app.metrics_address.rpartition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    yield connection
    connection.close()


def ask(
    connection: http.client.HTTPConnection, method: str, path: str, **headers: str
) -> tuple[int, dict[str, str], bytes]:
    connection.request(method, path, headers=headers)
    response = connection.getresponse()
    return response.status, dict(response.getheaders()), response.read()


def test_a_scrape_has_no_created_series_in_either_format(
    app: Application,
    client: TwoFactorClient,
    clock: FixedClock,
    endpoint: http.client.HTTPConnection,
) -> None:
    enroll_app(client, clock, "acme", "alice", advance=0)  # counters and histograms move
    status, headers, body = ask(endpoint, "GET", "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    text = body.decode()
    assert "twofa_enrollments_total" in text and "grpc_server_handling_seconds_bucket" in text
    assert "_created" not in text

    status, headers, body = ask(endpoint, "GET", "/metrics", Accept=OPENMETRICS)
    assert status == 200 and headers["Content-Type"].startswith("application/openmetrics-text")
    assert b"twofa_enrollments" in body and b"_created" not in body


@pytest.mark.parametrize("path", ["/", "/metrics/", "/favicon.ico", "/metricsx", "/admin"])
def test_every_other_path_is_not_found(endpoint: http.client.HTTPConnection, path: str) -> None:
    status, _, body = ask(endpoint, "GET", path)
    assert status == 404, (path, body)
    assert b"twofa_" not in body


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS", "TRACE"])
def test_only_get_and_head_are_allowed(endpoint: http.client.HTTPConnection, method: str) -> None:
    status, headers, body = ask(endpoint, method, "/metrics")
    assert status == 405 and headers["Allow"] == "GET, HEAD"
    assert b"twofa_" not in body


def test_head_answers_like_get_without_a_body(endpoint: http.client.HTTPConnection) -> None:
    status, headers, body = ask(endpoint, "HEAD", "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert body == b""
    # The connection stays usable after a HEAD (no stray body in the stream).
    status, _, body = ask(endpoint, "GET", "/metrics?name[]=twofa_build_info")
    assert status == 200 and b"twofa_build_info" in body
