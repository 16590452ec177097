"""QR codes rendered in worker processes, off the interpreter lock the loop and the writer need.

The server starts one renderer (api/qr_worker.py) with itself and more on demand,
up to `size`, each a process of its own joined to the server by a socket pair
and given one request at a time. The event loop talks to them without a thread:
sending a request and reading its answer are non-blocking socket I/O.

A renderer that dies or exceeds the timeout costs the call it was serving, which
fails with RendererUnavailable (UNAVAILABLE, RetryInfo), and nothing else: it is
killed if need be and another starts. Nothing here logs or raises what is
rendered (the text holds a TOTP secret).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from . import qr_worker
from .errors import RendererUnavailable

log = logging.getLogger("twofa.qr")

START_SECONDS = 10.0  # for a new renderer to report ready
STOP_SECONDS = 2.0  # for a renderer to exit after its socket closes, then SIGKILL
RESTART_PAUSE_SECONDS = (0.1, 5.0)  # after a failed start: first pause, longest pause
# Why a renderer was lost (the label values of the failures metric).
FAILURES = ("crashed", "timed_out", "exited")


class RendererStartFailed(Exception):
    """A renderer process could not be started or did not report ready."""


@dataclass(eq=False)
class _Renderer:
    process: asyncio.subprocess.Process
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    lost: bool = False  # killed or exited: never given a request again
    watch: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        self.lost = True
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGKILL)
        self.writer.close()


class RenderPool:
    """Renderer processes for the coroutines of one event loop (every method runs on it).

    Args:
        size: the most renderers at once.
        timeout: seconds a call may wait for a free renderer, and then seconds the
            renderer may take.
        on_failure: told why a renderer was lost ("crashed", "timed_out", "exited").
        command: how to start a renderer, given its socket's descriptor and our pid
            (tests replace it); `python -m twofa_server.api.qr_worker` by default.
    """

    def __init__(
        self,
        size: int,
        timeout: float,
        on_failure: Callable[[str], None] = lambda reason: None,
        command: Callable[[int, int], list[str]] | None = None,
    ) -> None:
        self._size = size
        self._timeout = timeout
        self._on_failure = on_failure
        self._command = command or _worker_command
        self._renderers: set[_Renderer] = set()
        self._idle: asyncio.Queue[_Renderer] = asyncio.Queue()
        self._starting = 0
        self._closing = False
        self._exchanges: set[asyncio.Task[tuple[int, int, bytes]]] = set()
        self._starters: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Starts the first renderer and waits until it is ready.

        Raises:
            RendererStartFailed: it could not start; the message says why.
        """
        self._enlist(await self._spawn())

    def pids(self) -> list[int]:
        """The process ids of the renderers ready now (from any thread)."""
        return sorted(r.pid for r in list(self._renderers))  # list(): one step under the GIL

    async def render(self, text: str, png: bool, svg: bool, scale: int = 5) -> tuple[bytes, str]:
        """The PNG and SVG of `text` (b"" and "" for a format not asked for).

        Raises:
            RendererUnavailable: no renderer answered within the timeout, or it died.
            ValueError: the text does not fit in a QR code.
        """
        if self._closing:
            raise RendererUnavailable()
        data = text.encode("utf-8")
        formats = (qr_worker.PNG if png else 0) | (qr_worker.SVG if svg else 0)
        request = qr_worker.REQUEST.pack(len(data), formats, scale) + data
        # The exchange runs to its end even if the call is cancelled meanwhile: a renderer
        # left with an unread answer could not be given the next request.
        exchange = asyncio.ensure_future(self._exchange(request))
        self._exchanges.add(exchange)
        exchange.add_done_callback(self._exchanges.discard)
        status, png_size, body = await asyncio.shield(exchange)
        if status == qr_worker.TOO_LONG:
            raise ValueError("the text is too long for a QR code")
        if status != qr_worker.OK:
            raise RuntimeError("the renderer could not render the text")
        return body[:png_size], body[png_size:].decode("utf-8")

    async def close(self) -> None:
        """Lets running renders finish (up to the timeout), then ends every renderer."""
        self._closing = True
        if self._exchanges:
            await asyncio.wait(set(self._exchanges), timeout=self._timeout)
        for starter in list(self._starters):
            starter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starter
        renderers = list(self._renderers)
        for renderer in renderers:
            renderer.lost = True
            renderer.writer.close()  # the renderer reads the end of its socket and exits
        for renderer in renderers:
            try:
                await asyncio.wait_for(renderer.process.wait(), STOP_SECONDS)
            except TimeoutError:
                renderer.kill()
                await renderer.process.wait()
            if renderer.watch is not None:
                await renderer.watch

    # --- on the loop ---------------------------------------------------------------------

    async def _exchange(self, request: bytes) -> tuple[int, int, bytes]:
        """The renderer's answer to `request`: status, PNG length, and the PNG and SVG."""
        try:
            async with asyncio.timeout(self._timeout):
                renderer = await self._acquire()
        except TimeoutError:  # every renderer busy, or none could start
            raise RendererUnavailable() from None
        try:
            async with asyncio.timeout(self._timeout):
                renderer.writer.write(request)
                await renderer.writer.drain()
                header = await renderer.reader.readexactly(qr_worker.ANSWER.size)
                status, png_size, svg_size = qr_worker.ANSWER.unpack(header)
                body = await renderer.reader.readexactly(png_size + svg_size)
        except TimeoutError:
            self._lose(renderer, "timed_out")
            raise RendererUnavailable() from None
        except (asyncio.IncompleteReadError, ConnectionError):
            self._lose(renderer, "crashed")
            raise RendererUnavailable() from None
        self._idle.put_nowait(renderer)
        return status, png_size, body

    async def _acquire(self) -> _Renderer:
        """An idle renderer; starts another when none is idle and there is room."""
        while True:
            if self._idle.empty() and len(self._renderers) + self._starting < self._size:
                self._start_another()
            renderer = await self._idle.get()
            if not renderer.lost:
                return renderer

    def _lose(self, renderer: _Renderer, reason: str) -> None:
        if renderer.lost:
            return
        log.warning(
            "QR renderer (pid %d) %s during a call; that call is answered UNAVAILABLE",
            renderer.pid,
            "timed out" if reason == "timed_out" else "died",
        )
        self._on_failure(reason)
        renderer.kill()  # its watch replaces it

    def _enlist(self, renderer: _Renderer) -> None:
        self._renderers.add(renderer)
        self._idle.put_nowait(renderer)

    def _start_another(self) -> None:
        self._starting += 1
        starter = asyncio.ensure_future(self._start_until_ready())
        self._starters.add(starter)
        starter.add_done_callback(self._starters.discard)

    async def _start_until_ready(self) -> None:
        pause = RESTART_PAUSE_SECONDS[0]
        try:
            while True:
                try:
                    renderer = await self._spawn()
                except RendererStartFailed as failed:
                    log.error("cannot start a QR renderer: %s; retrying in %.1fs", failed, pause)
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, RESTART_PAUSE_SECONDS[1])
                    continue
                self._enlist(renderer)
                return
        finally:
            self._starting -= 1

    async def _spawn(self) -> _Renderer:
        """A new renderer, ready for requests (not enlisted yet)."""
        ours, theirs = socket.socketpair()
        try:
            process = await asyncio.create_subprocess_exec(
                *self._command(theirs.fileno(), os.getpid()),
                pass_fds=(theirs.fileno(),),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
            )
        except OSError as error:
            ours.close()
            raise RendererStartFailed(f"{type(error).__name__}: {error.strerror}") from None
        finally:
            theirs.close()
        reader, writer = await asyncio.open_unix_connection(sock=ours)
        renderer = _Renderer(process, reader, writer)
        renderer.watch = asyncio.ensure_future(self._watch(renderer))
        try:
            async with asyncio.timeout(START_SECONDS):
                ready = await reader.readexactly(len(qr_worker.READY))
        except (TimeoutError, asyncio.IncompleteReadError):
            ready = b""
        except asyncio.CancelledError:
            renderer.kill()
            raise
        if ready != qr_worker.READY:
            renderer.kill()
            raise RendererStartFailed(f"it did not report ready within {START_SECONDS:g}s")
        return renderer

    async def _watch(self, renderer: _Renderer) -> None:
        """Waits for the renderer to exit; then, unless we are closing, starts another."""
        code = await renderer.process.wait()
        renderer.writer.close()
        if renderer not in self._renderers:  # never enlisted: its starter tries again
            return
        self._renderers.discard(renderer)
        if self._closing:
            return
        if not renderer.lost:  # it died between calls
            renderer.lost = True
            log.warning("QR renderer (pid %d) exited (%s) between calls", renderer.pid, code)
            self._on_failure("exited")
        self._start_another()


def _worker_command(fd: int, parent: int) -> list[str]:
    return [sys.executable, "-m", "twofa_server.api.qr_worker", str(fd), str(parent)]
