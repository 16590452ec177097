"""The outbox sender: delivers queued mail in the background, with retries.

Mail is queued in the same store transaction as the code it carries, so nothing
acknowledged is ever lost; this worker takes it from there. A message whose code
has expired is dropped (sending it would only confuse), a transient failure is
retried with exponential backoff and jitter, and a message is given up after
`max_attempts` tries or a permanent refusal. Delivered messages are deleted, so
a code never stays at rest longer than it must.

A configuration error (a relay without STARTTLS while smtp.security = starttls)
is nobody's message's fault: it is logged at error level once (again only after
a delivery has succeeded in between), counted, and every message stays queued,
retried without counting an attempt, until an operator fixes it.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..core.models import QueuedMail
from ..core.ports import Clock, Outbox
from .mail import DeliveryError, Mailer, MisconfiguredDeliveryError, PermanentDeliveryError
from .templates import Templates

log = logging.getLogger("twofa.outbox")

# How long a message waits after a configuration error before it is tried again (at most
# the retry policy's longest delay): long enough not to hammer the relay, short enough
# that mail flows soon after the relay is fixed.
HOLD_SECONDS = 60.0


@dataclass(frozen=True)
class RetryPolicy:
    """How the sender retries: `base_seconds` * 2^(attempt-1), capped, with jitter."""

    max_attempts: int = 8
    base_seconds: float = 5.0
    max_seconds: float = 600.0

    def delay(self, attempts: int, jitter: float) -> float:
        """The wait after `attempts` failures; `jitter` in [0, 1) spreads retries apart."""
        backoff = min(self.max_seconds, self.base_seconds * 2.0 ** (attempts - 1))
        return backoff * (0.5 + jitter / 2)


class DeliveryRecorder(Protocol):
    """Told how each delivery attempt ended (metrics); `kind` is a MailKind value."""

    def sent(self, kind: str) -> None:
        """The mail server accepted a message."""
        ...

    def failed(self, kind: str, outcome: str) -> None:
        """A message was not delivered: "retrying", "given_up", "expired" or "refused"."""
        ...

    def misconfigured(self, problem: str) -> None:
        """A delivery attempt met a configuration error (mail.CONFIGURATION_PROBLEMS)."""
        ...


class _NoRecorder:
    def sent(self, kind: str) -> None:
        pass

    def failed(self, kind: str, outcome: str) -> None:
        pass

    def misconfigured(self, problem: str) -> None:
        pass


class OutboxSender:
    """Sends due mail from the outbox in a background thread.

    Args:
        outbox: the durable queue.
        mailer: SMTP or console.
        templates: renders a queued mail into a message.
        clock: decides what is due and what has expired.
        retry: the retry schedule.
        poll_seconds: the longest the worker sleeps without being woken.
        jitter: source of [0, 1) values for spreading retries.
        recorder: told how each attempt ended (metrics); nothing by default.
    """

    def __init__(
        self,
        outbox: Outbox,
        mailer: Mailer,
        templates: Templates,
        clock: Clock,
        retry: RetryPolicy = RetryPolicy(),
        poll_seconds: float = 1.0,
        jitter: Callable[[], float] = random.random,
        recorder: DeliveryRecorder | None = None,
    ) -> None:
        self._outbox = outbox
        self._mailer = mailer
        self._templates = templates
        self._clock = clock
        self._retry = retry
        self._poll_seconds = poll_seconds
        self._jitter = jitter
        self._recorder: DeliveryRecorder = recorder or _NoRecorder()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        # Configuration problems already logged at error level (until a delivery succeeds).
        self._reported: set[str] = set()
        self._thread = threading.Thread(target=self._run, name="twofa-outbox", daemon=True)
        outbox.on_mail_queued(self.wake)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Look at the outbox now (mail was just queued)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Finishes the message in hand, then stops; queued mail waits for the next start."""
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def deliver_due(self, limit: int = 100) -> int:
        """One pass over the due mail; returns how many messages were handled."""
        due = self._outbox.claim_due(self._clock.now(), limit)
        for queued in due:
            if self._stopping.is_set():
                break
            self._deliver(queued)
        return len(due)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                while self.deliver_due() and not self._stopping.is_set():
                    pass
            except Exception as error:  # the store may be briefly unusable; keep going
                log.error("outbox pass failed: %s", type(error).__name__)
            self._wake.wait(self._sleep_seconds())
            self._wake.clear()

    def _sleep_seconds(self) -> float:
        try:
            next_at = self._outbox.next_attempt_at()
        except Exception:
            return self._poll_seconds
        if next_at is None:
            return self._poll_seconds
        return min(max(next_at - self._clock.now(), 0.0), self._poll_seconds)

    def _deliver(self, queued: QueuedMail) -> None:
        mail, now = queued.mail, self._clock.now()
        what = f"{mail.kind.value} mail {mail.message_id}"
        if mail.expires_at is not None and now >= mail.expires_at:
            log.warning("dropped %s: its code expired before it could be delivered", what)
            self._outbox.remove(queued.id)
            self._recorder.failed(mail.kind.value, "expired")
            return
        try:
            self._mailer.send(self._templates.render(mail, now))
        except MisconfiguredDeliveryError as error:
            self._hold(queued, error, now)
        except PermanentDeliveryError as error:
            log.error("dropped %s: the mail server refused it: %s", what, error)
            self._outbox.remove(queued.id)
            self._recorder.failed(mail.kind.value, "refused")
        except Exception as error:
            # A DeliveryError's text is safe to log; anything else is named by type only.
            reason = str(error) if isinstance(error, DeliveryError) else type(error).__name__
            attempts = queued.attempts + 1
            if attempts >= self._retry.max_attempts:
                log.error("dropped %s after %d attempts: %s", what, attempts, reason)
                self._outbox.remove(queued.id)
                self._recorder.failed(mail.kind.value, "given_up")
                return
            delay = self._retry.delay(attempts, self._jitter())
            log.warning(
                "%s not delivered (attempt %d), retrying in %.0f s: %s",
                what,
                attempts,
                delay,
                reason,
            )
            self._outbox.reschedule(queued.id, attempts, now + delay)
            self._recorder.failed(mail.kind.value, "retrying")
        else:
            log.info("delivered %s", what)
            self._outbox.remove(queued.id)
            self._recorder.sent(mail.kind.value)
            self._reported.clear()

    def _hold(self, queued: QueuedMail, error: MisconfiguredDeliveryError, now: float) -> None:
        """Keeps a message queued through a configuration error, without counting an attempt."""
        if error.problem not in self._reported:
            self._reported.add(error.problem)
            log.error(
                "mail cannot be delivered until the configuration is fixed: %s; messages "
                "stay queued and are retried",
                error,
            )
        else:
            log.debug("%s mail %s held: %s", queued.mail.kind.value, queued.mail.message_id, error)
        hold = min(HOLD_SECONDS, self._retry.max_seconds) * (0.5 + self._jitter() / 2)
        self._outbox.reschedule(queued.id, queued.attempts, now + hold)
        self._recorder.misconfigured(error.problem)
