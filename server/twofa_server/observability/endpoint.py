"""The HTTP endpoint Prometheus scrapes (GET /metrics), on its own address and thread.

Only `/metrics` answers, to GET and HEAD: every other path is 404 and every other
method 405, so a scanner or a mistyped URL learns nothing and a browser's favicon
request is not a scrape.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

# How often the serving loop checks for stop(); short, so that stopping is quick.
_POLL_SECONDS = 0.05
PATH = "/metrics"
_ALLOWED = "GET, HEAD"

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def metrics_only(app: Wsgi) -> Wsgi:
    """`app` (prometheus_client's, which answers any path) on /metrics, GET and HEAD only."""

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "")
        if environ.get("PATH_INFO") != PATH:
            return _plain(start_response, "404 Not Found", b"not found: metrics are at /metrics\n")
        if method not in ("GET", "HEAD"):
            return _plain(
                start_response, "405 Method Not Allowed", b"use GET\n", ("Allow", _ALLOWED)
            )
        body = app({**environ, "REQUEST_METHOD": "GET"}, start_response)
        return [] if method == "HEAD" else body

    return serve


def _plain(
    start_response: Callable[..., Any], status: str, body: bytes, *headers: tuple[str, str]
) -> list[bytes]:
    start_response(
        status,
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            *headers,
        ],
    )
    return [body]


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per scrape would drown the server's own log


class MetricsEndpoint:
    """Serves `registry` in the Prometheus text format on host:port/metrics until stop().

    Args:
        registry: what is served.
        host: the address to bind (a name, IPv4 or IPv6 address).
        port: the port; 0 picks a free one.

    Raises:
        OSError: the address is in use, not allowed or unknown.
    """

    def __init__(self, registry: CollectorRegistry, host: str, port: int) -> None:
        family, _, _, _, sockaddr = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]

        class Server(ThreadingMixIn, WSGIServer):
            daemon_threads = True
            address_family = family

        self._server = make_server(
            str(sockaddr[0]),
            port,
            metrics_only(make_wsgi_app(registry)),
            Server,
            handler_class=_Quiet,
        )
        bound_host, bound_port = self._server.server_address[:2]
        shown = str(bound_host)
        self.address = f"[{shown}]:{bound_port}" if ":" in shown else f"{shown}:{bound_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _POLL_SECONDS},
            name="twofa-metrics",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stops serving and closes the socket; scrapes in progress finish on their own."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
