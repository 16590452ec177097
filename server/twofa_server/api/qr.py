"""QR codes of otpauth:// URIs, for the authenticator set-up screen.

The code itself comes from zxing-cpp (compiled: a set-up's PNG and SVG take about
2 ms of CPU against 15-19 ms with segno, the pure-Python encoder used before);
the PNG and the SVG are written here from its modules. The server calls this
module in its renderer processes (api/rendering.py).

Rendering is deterministic (same text and scale, same bytes), so responses can
be compared in tests and cached by clients.

Error messages never quote the text: it holds a TOTP secret.
"""

from __future__ import annotations

import functools
import re
import struct
import zlib

import zxingcpp

# Medium error correction (~15 % recoverable) is what authenticator set-up
# screens commonly use: sturdy against glare and a slightly blurred phone camera
# while keeping the code small.
_ERROR = "M"
# ISO/IEC 18004 asks for a four-module quiet zone; scanners misread codes
# placed flush against other content without it.
_BORDER = 4
_DARK = 0  # zxing-cpp's pixel value of a dark module (light ones are 255)
_DARK_RUNS = re.compile(rb"\x00+")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def render_png(data: str, scale: int = 5) -> bytes:
    """Renders `data` as a black-on-white PNG QR code (1 bit per pixel).

    Args:
        data: the text to encode, typically an otpauth:// URI.
        scale: pixels per module, at least 1.

    Returns:
        The PNG file's bytes.

    Raises:
        ValueError: if `scale` is below 1 or `data` is too long for a QR code.
    """
    return to_png(modules(data), scale)


def render_svg(data: str, scale: int = 5) -> str:
    """Renders `data` as a standalone black-on-white SVG document (no XML declaration).

    Args:
        data: the text to encode, typically an otpauth:// URI.
        scale: user units per module, at least 1.

    Returns:
        The SVG document as text.

    Raises:
        ValueError: if `scale` is below 1 or `data` is too long for a QR code.
    """
    return to_svg(modules(data), scale)


def render_both(data: str, scale: int = 5) -> tuple[bytes, str]:
    """The PNG and the SVG of `data`, encoding the QR code once.

    Raises:
        ValueError: if `scale` is below 1 or `data` is too long for a QR code.
    """
    rows = modules(data)
    return to_png(rows, scale), to_svg(rows, scale)


def modules(data: str) -> list[bytes]:
    """The QR code of `data` without its quiet zone: one bytes object per row, one byte
    per module, 0 for dark and 255 for light.

    Raises:
        ValueError: if `data` is too long for a QR code.
    """
    try:
        # A version 1-40 QR code, never Micro QR (authenticator apps cannot read it),
        # at exactly the error correction level chosen.
        code = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.QRCode, ec_level=_ERROR)
    except ValueError:
        raise ValueError("the text is too long for a QR code") from None
    image = code.to_image(scale=1, add_quiet_zones=False)
    height, width = image.shape
    pixels = bytes(memoryview(image))  # type: ignore[arg-type]  # the Image is a buffer
    return [pixels[row * width : (row + 1) * width] for row in range(height)]


def _check(scale: int) -> None:
    if scale < 1:
        raise ValueError(f"scale must be at least 1, got {scale}")


@functools.lru_cache(maxsize=16)
def _widen(scale: int) -> dict[int, str]:
    """str.translate's table turning a row of modules into a row of pixel bits (1: light)."""
    return {_DARK: "0" * scale, 255: "1" * scale}


def to_png(rows: list[bytes], scale: int) -> bytes:
    """The PNG of a QR code's `modules`, `scale` pixels per module, with its quiet zone.

    Raises:
        ValueError: if `scale` is below 1.
    """
    _check(scale)
    side = (len(rows) + 2 * _BORDER) * scale
    row_bytes = (side + 7) // 8
    padding = "1" * (row_bytes * 8 - side)
    quiet = "1" * (_BORDER * scale)
    blank = b"\x00" + b"\xff" * row_bytes  # filter type 0, then all light
    lines = [blank] * (_BORDER * scale)
    widen = _widen(scale)
    for row in rows:
        bits = quiet + row.decode("latin-1").translate(widen) + quiet + padding
        lines.extend([b"\x00" + int(bits, 2).to_bytes(row_bytes, "big")] * scale)
    lines.extend([blank] * (_BORDER * scale))
    # Width, height, bit depth 1, greyscale, deflate, adaptive filtering, no interlace.
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"".join(
        (
            _PNG_SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(b"".join(lines))),
            _chunk(b"IEND", b""),
        )
    )


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def to_svg(rows: list[bytes], scale: int) -> str:
    """The SVG of a QR code's `modules`, `scale` user units per module, with its quiet zone.

    Raises:
        ValueError: if `scale` is below 1.
    """
    _check(scale)
    units = len(rows) + 2 * _BORDER
    side = units * scale
    # One horizontal stroke, one module thick, per run of dark modules in a row.
    path = "".join(
        f"M{run.start() + _BORDER} {y + _BORDER}.5h{run.end() - run.start()}"
        for y, row in enumerate(rows)
        for run in _DARK_RUNS.finditer(row)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{side}" height="{side}" '
        f'viewBox="0 0 {units} {units}" shape-rendering="crispEdges">'
        f'<rect width="{units}" height="{units}" fill="#fff"/>'
        f'<path stroke="#000" d="{path}"/></svg>'
    )
