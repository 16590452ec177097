"""Assembly: builds the store, crypto and service from Settings and serves them over gRPC.

The gRPC servers are asyncio servers (grpc.aio) on one event loop, which runs in
a thread of its own so that start() and stop() stay plain calls. A request in
flight is a task, not a thread; use cases run on the store's writer thread or,
when they only read, on the loop itself (api/runner.py). QR codes are rendered
in worker processes (api/rendering.py), started with the server and closed
after its drain.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from twofa.v1 import twofa_pb2, twofa_pb2_grpc

from .api import transport
from .api.admission import Admission
from .api.interceptors.bearer_token import BearerTokenInterceptor, read_token
from .api.interceptors.error_mapping import ErrorMappingInterceptor
from .api.interceptors.metrics import ServerMetricsInterceptor
from .api.interceptors.request_id import RequestIdInterceptor
from .api.rendering import RendererStartFailed, RenderPool
from .api.runner import UseCaseRunner
from .api.servicer import TwoFactorServicer
from .clock import SystemClock, SystemRandom
from .config import Settings, unused_template_files
from .core.ports import Clock, Random
from .core.service import ServiceSettings, TwoFactorService
from .delivery import ConsoleMailer, Mailer, SmtpMailer, TemplateError, Templates
from .delivery.outbox import OutboxSender
from .errors import OperatorError
from .jobs.housekeeper import Housekeeper
from .jobs.readiness import ReadinessWatch
from .jobs.rotation import KeyringWatcher, keyring_signature
from .observability import Observability
from .observability.metrics import AdmissionCollector
from .observability.request_id import random_ids
from .observability.reseal import ResealCollector
from .store.opening import ServingStore, open_store

log = logging.getLogger("twofa")
T = TypeVar("T")

SERVICE_NAME = twofa_pb2.DESCRIPTOR.services_by_name["TwoFactorService"].full_name
MAX_REQUEST_BYTES = 64 * 1024  # requests are small; refuse anything larger early
# gRPC sets SO_REUSEPORT by default, so a second server on a taken port would bind and
# silently share its connections (another twofa, or health_listen = listen): refuse it.
EXCLUSIVE_PORT = ("grpc.so_reuseport", 0)
SIGNAL_CHECK_SECONDS = 0.2
# Services whose grpc_server_* series exist (at 0) from the start.
METERED_SERVICES = (
    twofa_pb2.DESCRIPTOR.services_by_name["TwoFactorService"],
    health_pb2.DESCRIPTOR.services_by_name["Health"],
)


class StartupError(OperatorError):
    """twofa cannot start; the message says why and what to do, in one line."""


class EventLoopThread:
    """The event loop the gRPC servers run on, in a thread of its own."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="twofa-grpc")
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Runs `coroutine` on the loop and waits for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class HealthStatus:
    """The health service's statuses, set from any thread (the servicer lives on the loop)."""

    def __init__(self, servicer: Any, loop: EventLoopThread) -> None:
        self.servicer = servicer
        self._loop = loop

    def set(self, service: str, status: int) -> None:
        self._loop.run(self.servicer.set(service, status))

    def serving(self, up: bool) -> None:
        """Every service SERVING (up) or NOT_SERVING."""
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if up
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for service in ("", SERVICE_NAME):
            self.set(service, status)

    def enter_graceful_shutdown(self) -> None:
        """Every service reports NOT_SERVING from now on (the start of a drain)."""
        self._loop.run(self.servicer.enter_graceful_shutdown())


@dataclass
class Application:
    """A running twofa: its gRPC server, health service and store."""

    server: grpc.aio.Server
    health: HealthStatus
    store: ServingStore
    outbox: OutboxSender
    housekeeper: Housekeeper
    # Metrics (and their /metrics endpoint) and the audit log.
    observability: Observability
    # Reloads a changed keyring file and re-seals the store under its primary key.
    keyring_watcher: KeyringWatcher
    addresses: tuple[str, ...]
    event_loop: EventLoopThread
    # Renders QR codes in worker processes.
    renderers: RenderPool
    # The plaintext health-only server for probes (health_listen), and its address.
    health_server: grpc.aio.Server | None = None
    health_address: str = ""
    # Turns health NOT_SERVING while a shared database cannot be reached.
    readiness: ReadinessWatch | None = None

    @property
    def metrics_address(self) -> str:
        """The bound host:port of /metrics; empty when metrics_listen is off."""
        return self.observability.metrics_address

    def stop(self, grace: float) -> None:
        """Drains: probes see NOT_SERVING, new calls are refused, in-flight calls finish.

        Mail still queued stays in the outbox for the next start. Stopping twice is harmless.
        """
        if self.event_loop.loop.is_closed():
            return
        if self.readiness is not None:
            self.readiness.stop()  # it must not turn health back to SERVING during the drain
        self.health.enter_graceful_shutdown()
        self.event_loop.run(self.server.stop(grace))
        self.event_loop.run(self.renderers.close())  # after the calls that use them
        self.housekeeper.stop()
        self.outbox.stop()
        self.keyring_watcher.stop()  # an unfinished re-seal resumes at the next start
        self.observability.stop()  # before the store its gauges read
        self.store.close()  # what the writer holds still commits
        if self.health_server is not None:  # last: probes see NOT_SERVING through the drain
            self.event_loop.run(self.health_server.stop(0))
        self.event_loop.close()


def start(
    settings: Settings, clock: Clock | None = None, random: Random | None = None
) -> Application:
    """Opens everything and starts serving; returns once the server accepts calls.

    Args:
        settings: the configuration.
        clock, random: injected by tests; the system's by default.
    """
    clock = clock or SystemClock()
    credentials, token = security_for(settings)
    mailer, templates = delivery_for(settings)
    unused_templates = unused_template_files(settings.mail.template_dir)
    if unused_templates:
        log.warning("%s", unused_templates)
    keyring_seen = keyring_signature(settings.keyring_path)  # before it is read
    store, sealer, hasher, _ = open_store(settings, clock)
    observability = _observability(settings, clock, store)
    outbox = OutboxSender(
        store, mailer, templates, clock, settings.mail_retry, recorder=observability.metrics
    )
    service = TwoFactorService(
        clock,
        random or SystemRandom(),
        hasher,
        ServiceSettings(
            default_policy=settings.policy,
            default_issuer=settings.issuer,
            sender_domains=settings.mail.sender_domains,
        ),
    )
    event_loop = EventLoopThread()
    # Renderer processes are started from the loop's thread: on Linux they die with it.
    renderers = RenderPool(
        settings.workers, settings.qr_timeout_seconds, observability.metrics.renderer_failed
    )
    try:
        _serve_metrics(settings, observability)
        server, health_servicer, addresses, health_server, health_address = event_loop.run(
            _serve_grpc(settings, credentials, token, observability, service, store, renderers)
        )
    except BaseException:
        event_loop.run(renderers.close())
        event_loop.close()
        observability.stop()
        store.close()
        raise
    health_status = HealthStatus(health_servicer, event_loop)
    health_status.serving(True)
    readiness = None
    if settings.store == "postgres":

        def store_up(up: bool) -> None:
            health_status.serving(up)
            observability.metrics.store_up.set(int(up))

        readiness = ReadinessWatch(store.reachable, store_up, store.where)
        readiness.start()
    outbox.start()
    housekeeper = Housekeeper(service, store, observability.events, settings.sweep_interval_seconds)
    housekeeper.start()
    keyring_watcher = KeyringWatcher(
        store,
        store.where,
        settings.keyring_path,
        sealer,
        keyring_seen,
        on_unreadable=lambda count: observability.metrics.unreadable("reseal", count),
    )
    observability.registry.register(ResealCollector(keyring_watcher.progress))
    keyring_watcher.start()
    return Application(
        server,
        health_status,
        store,
        outbox,
        housekeeper,
        observability,
        keyring_watcher,
        addresses,
        event_loop,
        renderers,
        health_server=health_server,
        health_address=health_address,
        readiness=readiness,
    )


async def _serve_grpc(
    settings: Settings,
    credentials: grpc.ServerCredentials | None,
    token: bytes | None,
    observability: Observability,
    service: TwoFactorService,
    store: ServingStore,
    renderers: RenderPool,
) -> tuple[grpc.aio.Server, Any, tuple[str, ...], grpc.aio.Server | None, str]:
    """Starts the first QR renderer, then builds, binds and starts the API server (and the
    health-only one), on the loop."""
    try:
        await renderers.start()
    except RendererStartFailed as failed:
        raise StartupError(
            f"cannot start a QR renderer process: {failed} (is twofa fully installed?)"
        ) from None
    # The first interceptor is the outermost. Request ids first, so every later layer
    # sees them; metrics next, so they count the token check's UNAUTHENTICATED refusals
    # and see the code the error mapping has turned errors into; the token check comes
    # before anything that does work; error mapping stays innermost, around the servicer.
    interceptors: list[grpc.aio.ServerInterceptor] = [  # type: ignore[type-arg]
        RequestIdInterceptor(random_ids(SystemRandom().token_bytes(16))),
        ServerMetricsInterceptor(observability.registry, METERED_SERVICES),
    ]
    if token is not None:
        interceptors.append(BearerTokenInterceptor(token))
    interceptors.append(ErrorMappingInterceptor(observability.metrics.unavailable))
    server = grpc.aio.server(
        interceptors=interceptors,
        options=[("grpc.max_receive_message_length", MAX_REQUEST_BYTES), EXCLUSIVE_PORT],
    )
    runner = UseCaseRunner(store, observability.events, asyncio.get_running_loop())
    admission = Admission(settings.admission, observability.metrics.refused)
    observability.registry.register(AdmissionCollector(admission.load))
    twofa_pb2_grpc.add_TwoFactorServiceServicer_to_server(
        TwoFactorServicer(service, runner, renderers, admission), server
    )
    # health.aio is grpc_health's documented asyncio servicer; its stubs do not re-export it.
    health_servicer = health.aio.HealthServicer()  # type: ignore[attr-defined]
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    if settings.reflection:
        reflection.enable_server_reflection(
            (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server
        )
    try:
        addresses = _bind(server, settings, credentials)
        health_server, health_address = await _health_server(settings, health_servicer)
    except StartupError:
        await server.stop(None)  # before the loop goes: a server object's end needs it
        raise
    await server.start()
    if health_server is not None:
        await health_server.start()
    return server, health_servicer, addresses, health_server, health_address


def _observability(settings: Settings, clock: Clock, store: ServingStore) -> Observability:
    """Metrics and the audit log; an audit file that cannot be opened stops start-up here."""
    try:
        observability = Observability(settings.audit_log, clock)
    except OSError as exc:
        store.close()
        raise StartupError(
            f"cannot open audit.log {settings.audit_log}: {exc.strerror} "
            "(give a writable file path, or stderr)"
        ) from None
    observability.watch_store(store)
    return observability


def _serve_metrics(settings: Settings, observability: Observability) -> None:
    if not settings.metrics_listen:
        return
    try:
        observability.serve_metrics(settings.metrics_listen)
    except OSError:
        raise StartupError(
            f"cannot serve metrics on {settings.metrics_listen}: it is in use or not allowed "
            "(set metrics_listen to another host:port, or empty to turn metrics off)"
        ) from None


def delivery_for(settings: Settings) -> tuple[Mailer, Templates]:
    """The mailer and templates; a wrong setting or template stops start-up here."""
    try:
        templates = Templates(settings.mail)
        if settings.mail_backend == "smtp":
            return SmtpMailer(settings.smtp), templates
    except (ValueError, TemplateError, OperatorError) as exc:
        raise StartupError(str(exc)) from None
    return ConsoleMailer(), templates


def security_for(settings: Settings) -> tuple[grpc.ServerCredentials | None, bytes | None]:
    """TLS credentials and the bearer token, read once; checked before anything is opened."""
    try:
        credentials = transport.server_credentials(settings.tls)
        transport.check_plaintext(settings.listen, credentials is not None, settings.allow_insecure)
        token_file = settings.auth.token_file
        return credentials, read_token(token_file) if token_file is not None else None
    except (ValueError, OperatorError) as exc:
        raise StartupError(str(exc)) from None


def _bind(
    server: grpc.aio.Server, settings: Settings, credentials: grpc.ServerCredentials | None
) -> tuple[str, ...]:
    """TCP with TLS when configured; the Unix socket stays plaintext, mode 0660."""
    addresses = []
    if settings.listen:
        host, _, _ = settings.listen.rpartition(":")
        port = _add_port(server, settings.listen, credentials)
        addresses.append(f"{host}:{port}")
    if settings.unix_socket:
        parent = Path(settings.unix_socket).parent
        if not parent.is_dir():
            raise StartupError(
                f"cannot listen on unix:{settings.unix_socket}: directory {parent} does not exist"
            )
        _add_port(server, f"unix:{settings.unix_socket}")
        try:
            transport.restrict_socket(settings.unix_socket)
        except ValueError as exc:
            raise StartupError(str(exc)) from None
        addresses.append(f"unix:{settings.unix_socket}")
    return tuple(addresses)


async def _health_server(
    settings: Settings, health_servicer: Any
) -> tuple[grpc.aio.Server | None, str]:
    """A plaintext server for probes answering only grpc.health.v1 Check, from the same
    servicer (so a drain shows there too). It may listen beyond loopback: it serves
    nothing else, and kubelet probes can use neither TLS nor a token."""
    if not settings.health_listen:
        return None, ""
    server = grpc.aio.server(
        options=[("grpc.max_receive_message_length", 1024), EXCLUSIVE_PORT],
        maximum_concurrent_rpcs=64,
    )
    check = grpc.unary_unary_rpc_method_handler(
        health_servicer.Check,
        request_deserializer=health_pb2.HealthCheckRequest.FromString,
        response_serializer=health_pb2.HealthCheckResponse.SerializeToString,
    )
    # Check only: a Watch stream lasts as long as the caller likes.
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(health.SERVICE_NAME, {"Check": check}),)
    )
    host, _, _ = settings.health_listen.rpartition(":")
    try:
        port = _add_port(server, settings.health_listen)
    except StartupError:
        await server.stop(None)
        raise
    return server, f"{host}:{port}"


def _add_port(
    server: grpc.aio.Server, address: str, credentials: grpc.ServerCredentials | None = None
) -> int:
    try:
        if credentials is not None:
            return server.add_secure_port(address, credentials)
        return server.add_insecure_port(address)
    except RuntimeError:
        raise StartupError(
            f"cannot listen on {address}: it is in use or not allowed (is another twofa running?)"
        ) from None


def describe_security(settings: Settings) -> str:
    tls = settings.tls
    kind = "plaintext" if tls.cert_file is None else "TLS"
    if tls.client_ca_file is not None:
        kind = "mutual TLS"
    token = "bearer token required" if settings.auth.token_file else "no bearer token"
    return f"{kind}, {token}"


def serve(settings: Settings) -> None:
    """Runs until SIGTERM or SIGINT, then drains for `grace_seconds`."""
    app = start(settings)
    log.info("twofa serving on %s (%s)", ", ".join(app.addresses), app.store.where)
    if settings.listen:
        log.info("transport on %s: %s", settings.listen, describe_security(settings))
    if app.health_address:
        log.info("health checks (plaintext, Check only) on %s", app.health_address)
    if app.metrics_address:
        log.info("metrics on http://%s/metrics", app.metrics_address)
    if settings.mail_backend == "console":
        log.warning("mail.backend is console: email is logged, not sent (development only)")
    stopping = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info(
            "received %s: draining for up to %ss",
            signal.Signals(signum).name,
            settings.grace_seconds,
        )
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # SIGHUP: look at the keyring file now, not at the next poll.
    signal.signal(signal.SIGHUP, lambda _signum, _frame: app.keyring_watcher.check_now())
    # Wake up now and then: a signal the kernel delivers to one of gRPC's threads only
    # runs its Python handler once the main thread returns to the interpreter.
    while not stopping.wait(SIGNAL_CHECK_SECONDS):
        pass
    app.stop(settings.grace_seconds)
    log.info("twofa stopped")
