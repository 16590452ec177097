"""Assembly: builds the store, crypto and service from Settings and serves them over gRPC."""

from __future__ import annotations

import logging
import signal
import threading
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from twofa.v1 import twofa_pb2, twofa_pb2_grpc

from .api.errors import ErrorMappingInterceptor
from .api.servicer import TwoFactorServicer
from .clock import SystemClock, SystemRandom
from .config import Settings
from .core.ports import Clock, Random
from .core.service import ServiceSettings, TwoFactorService
from .crypto import KeyedHasher, Sealer, load_keyring
from .delivery import ConsoleMailer, Mailer, SmtpMailer, TemplateError, Templates
from .delivery.outbox import OutboxSender
from .housekeeper import Housekeeper
from .store.keycheck import check_keyring
from .store.lmdb_store import LmdbStore

log = logging.getLogger("twofa")

SERVICE_NAME = twofa_pb2.DESCRIPTOR.services_by_name["TwoFactorService"].full_name
MAX_REQUEST_BYTES = 64 * 1024  # requests are small; refuse anything larger early


class StartupError(Exception):
    """twofa cannot start; the message says why and what to do, in one line."""


@dataclass
class Application:
    """A running twofa: its gRPC server, health service and store."""

    server: grpc.Server
    health: health.HealthServicer
    store: LmdbStore
    outbox: OutboxSender
    housekeeper: Housekeeper
    addresses: tuple[str, ...]

    def stop(self, grace: float) -> None:
        """Drains: probes see NOT_SERVING, new calls are refused, in-flight calls finish.

        Mail still queued stays in the outbox for the next start.
        """
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()
        self.housekeeper.stop()
        self.outbox.stop()
        self.store.close()


def open_store(settings: Settings, clock: Clock) -> tuple[LmdbStore, Sealer, KeyedHasher]:
    """Opens the keyring and the store and proves they belong together.

    Raises:
        KeyringError, KeyringMismatch: with a one-line message saying what to do.
    """
    keyring = load_keyring(settings.keyring_path)
    sealer, hasher = Sealer(keyring), KeyedHasher(keyring.mac_key)
    store = LmdbStore(settings.data_dir, settings.map_size_mb, sealer, clock)
    try:
        check_keyring(store, sealer, hasher, settings.keyring_path)
    except Exception:
        store.close()
        raise
    return store, sealer, hasher


def start(
    settings: Settings, clock: Clock | None = None, random: Random | None = None
) -> Application:
    """Opens everything and starts serving; returns once the server accepts calls.

    Args:
        settings: the configuration.
        clock, random: injected by tests; the system's by default.
    """
    clock = clock or SystemClock()
    mailer, templates = _delivery(settings)
    store, _sealer, hasher = open_store(settings, clock)
    outbox = OutboxSender(store, mailer, templates, clock, settings.mail_retry)
    service = TwoFactorService(
        store,
        clock,
        random or SystemRandom(),
        hasher,
        ServiceSettings(default_policy=settings.policy, default_issuer=settings.issuer),
        mail_queued=outbox.wake,
    )
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="twofa"),
        interceptors=[ErrorMappingInterceptor()],
        options=[("grpc.max_receive_message_length", MAX_REQUEST_BYTES)],
    )
    twofa_pb2_grpc.add_TwoFactorServiceServicer_to_server(TwoFactorServicer(service), server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    if settings.reflection:
        reflection.enable_server_reflection(
            (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server
        )
    addresses = _bind(server, settings)
    server.start()
    for name in ("", SERVICE_NAME):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    outbox.start()
    housekeeper = Housekeeper(service, settings.sweep_interval_seconds)
    housekeeper.start()
    return Application(server, health_servicer, store, outbox, housekeeper, addresses)


def _delivery(settings: Settings) -> tuple[Mailer, Templates]:
    """The mailer and templates; a wrong setting or template stops start-up here."""
    try:
        templates = Templates(settings.mail)
        if settings.mail_backend == "smtp":
            return SmtpMailer(settings.smtp), templates
    except (ValueError, TemplateError) as exc:
        raise StartupError(str(exc)) from None
    return ConsoleMailer(), templates


def _bind(server: grpc.Server, settings: Settings) -> tuple[str, ...]:
    addresses = []
    if settings.listen:
        host, _, _ = settings.listen.rpartition(":")
        port = _add_port(server, settings.listen)
        addresses.append(f"{host}:{port}")
    if settings.unix_socket:
        parent = Path(settings.unix_socket).parent
        if not parent.is_dir():
            raise StartupError(
                f"cannot listen on unix:{settings.unix_socket}: directory {parent} does not exist"
            )
        _add_port(server, f"unix:{settings.unix_socket}")
        addresses.append(f"unix:{settings.unix_socket}")
    return tuple(addresses)


def _add_port(server: grpc.Server, address: str) -> int:
    try:
        return server.add_insecure_port(address)
    except RuntimeError:
        raise StartupError(
            f"cannot listen on {address}: it is in use or not allowed (is another twofa running?)"
        ) from None


def serve(settings: Settings) -> None:
    """Runs until SIGTERM or SIGINT, then drains for `grace_seconds`."""
    app = start(settings)
    log.info("twofa serving on %s (data_dir=%s)", ", ".join(app.addresses), settings.data_dir)
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
    stopping.wait()
    app.stop(settings.grace_seconds)
    log.info("twofa stopped")
