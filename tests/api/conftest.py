"""Fixtures of the API tests: twofa in this process with a real SMTP server, up or down."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from twofa_server.config import Settings

from ..support.clock import FixedClock
from ..support.mail_server import TwofaWithSmtp, smtp_settings
from ..support.net import free_port
from ..support.smtp_sink import Serve, Sink


@pytest.fixture
def mailroom(settings: Settings, clock: FixedClock, smtp_server: Serve) -> Iterator[TwofaWithSmtp]:
    """twofa with a working SMTP server."""
    sink = Sink()
    room = TwofaWithSmtp(smtp_settings(settings, smtp_server(sink)), clock, sink)
    yield room
    room.close()


@pytest.fixture
def offline(settings: Settings, clock: FixedClock) -> Iterator[TwofaWithSmtp]:
    """twofa whose SMTP server is down (nothing listens) until the test calls start_smtp()."""
    room = TwofaWithSmtp(smtp_settings(settings, free_port()), clock, Sink())
    yield room
    room.close()
