"""The outbox sender's retry schedule and its giving up, against a real store and SMTP port."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from twofa_server.config import Settings
from twofa_server.delivery.outbox import RetryPolicy

from ..support.clock import FixedClock
from ..support.mail_server import ADDRESS, T, TwofaWithSmtp, U, smtp_settings
from ..support.net import free_port
from ..support.smtp_sink import Sink
from ..support.waiting import wait_until


@pytest.mark.parametrize(
    ("attempts", "low", "high"),
    [(1, 2.5, 5.0), (2, 5.0, 10.0), (3, 10.0, 20.0), (8, 300.0, 600.0), (30, 300.0, 600.0)],
)
def test_backoff_doubles_up_to_the_cap_with_jitter(attempts: int, low: float, high: float) -> None:
    retry = RetryPolicy(max_attempts=8, base_seconds=5, max_seconds=600)
    assert retry.delay(attempts, jitter=0.0) == low
    assert retry.delay(attempts, jitter=0.999999) == pytest.approx(high, rel=1e-5)


@pytest.fixture
def never_delivering(settings: Settings, clock: FixedClock) -> Iterator[TwofaWithSmtp]:
    """twofa whose SMTP port never answers, giving up after three attempts."""
    down = smtp_settings(settings, free_port())
    room = TwofaWithSmtp(
        replace(down, mail_retry=RetryPolicy(max_attempts=3, base_seconds=1)), clock, Sink()
    )
    yield room
    room.close()


def test_a_message_is_given_up_after_max_attempts(
    never_delivering: TwofaWithSmtp, caplog: pytest.LogCaptureFixture
) -> None:
    room = never_delivering
    room.client.begin_email_setup(T, U, ADDRESS)
    for _ in range(2):  # attempts 1 and 2 fail and are rescheduled
        room.wait_for_failed_attempt()
        room.advance(10)
    wait_until(lambda: room.queued() == 0, "the message to be given up")
    assert "after 3 attempts" in caplog.text
    assert ADDRESS not in caplog.text  # the log names the message, not the person
    # The pending set-up is untouched: the user can ask for a new code.
    room.advance(60)
    assert room.client.begin_email_setup(T, U, ADDRESS).masked_email == "a***@example.com"
