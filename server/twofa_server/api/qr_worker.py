"""A QR renderer process: renders the server's requests, one at a time, until the server goes.

Started by the server (api/rendering.py) as `python -m twofa_server.api.qr_worker FD PID`:
FD is its end of a socket pair with the server, PID the server's process id. It
renders off the server's interpreter lock, and a crash or a hang here costs the
server one call, not the process.

It exits when the server closes its end of the socket (a stop, or the server's
death: the kernel closes a killed process's sockets) and, on Linux, when the
server dies while it is busy (the parent-death signal). SIGINT and SIGTERM are
ignored: a terminal's Ctrl-C or a service manager signalling the whole group
reaches the server, which drains and then closes its renderers itself.

It never prints what it renders (the text holds a TOTP secret), nor any error's
message: it answers a failure with a status byte only.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import struct
import sys

from . import qr

# Request: text length, formats (bits below), scale; then the text, UTF-8.
REQUEST = struct.Struct(">IBH")
# Answer: status, PNG length, SVG length; then the PNG and the SVG (UTF-8).
ANSWER = struct.Struct(">BII")
PNG = 1
SVG = 2
READY = b"R"  # sent once, when the renderer can take requests
OK, TOO_LONG, FAILED = 0, 1, 2
_PR_SET_PDEATHSIG = 1


def answer(text: str, formats: int, scale: int) -> bytes:
    """The answer to one request: the images asked for, or a status without detail."""
    try:
        rows = qr.modules(text)
        png = qr.to_png(rows, scale) if formats & PNG else b""
        svg = qr.to_svg(rows, scale).encode() if formats & SVG else b""
    except ValueError:
        return ANSWER.pack(TOO_LONG, 0, 0)
    except Exception:  # whatever it was, the server only needs to know it failed
        return ANSWER.pack(FAILED, 0, 0)
    return ANSWER.pack(OK, len(png), len(svg)) + png + svg


def serve(connection: socket.socket) -> None:
    """Answers requests until the other end closes the connection."""
    connection.sendall(READY)
    while True:
        header = _read(connection, REQUEST.size)
        if header is None:
            return
        length, formats, scale = REQUEST.unpack(header)
        text = _read(connection, length)
        if text is None:
            return
        connection.sendall(answer(text.decode("utf-8"), formats, scale))


def _read(connection: socket.socket, size: int) -> bytes | None:
    """Exactly `size` bytes, or None when the server has closed its end."""
    chunks = []
    while size:
        chunk = connection.recv(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _die_with(parent: int) -> None:
    """Linux: SIGKILL this process when its parent dies, even in the middle of a render."""
    if sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(0)


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    fd, parent = int(argv[1]), int(argv[2])
    _die_with(parent)
    # OSError: the server went in the middle of an exchange.
    with socket.socket(fileno=fd) as connection, contextlib.suppress(OSError):
        serve(connection)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
