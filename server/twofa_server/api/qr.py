"""QR codes of otpauth:// URIs, for the authenticator set-up screen.

Rendering is deterministic (same text and scale, same bytes), so responses can
be compared in tests and cached by clients.
"""

from __future__ import annotations

import io

import segno

# Medium error correction (~15 % recoverable) is what authenticator set-up
# screens commonly use: sturdy against glare and a slightly blurred phone camera
# while keeping the code small.
_ERROR = "m"
# ISO/IEC 18004 asks for a four-module quiet zone; scanners misread codes
# placed flush against other content without it.
_BORDER = 4


def render_png(data: str, scale: int = 5) -> bytes:
    """Renders `data` as a black-on-white PNG QR code.

    Args:
        data: the text to encode, typically an otpauth:// URI.
        scale: pixels per module, at least 1.

    Returns:
        The PNG file's bytes.

    Raises:
        ValueError: if `scale` is below 1 or `data` is too long for a QR code.
    """
    return _png(_make(data, scale), scale)


def render_svg(data: str, scale: int = 5) -> str:
    """Renders `data` as a standalone SVG document (without an XML declaration).

    Args:
        data: the text to encode, typically an otpauth:// URI.
        scale: user units per module, at least 1.

    Returns:
        The SVG document as text.

    Raises:
        ValueError: if `scale` is below 1 or `data` is too long for a QR code.
    """
    return _svg(_make(data, scale), scale)


def render_both(data: str, scale: int = 5) -> tuple[bytes, str]:
    """The PNG and the SVG of `data`, encoding the QR code once (the costly part).

    Raises:
        ValueError: if `scale` is below 1 or `data` is too long for a QR code.
    """
    code = _make(data, scale)
    return _png(code, scale), _svg(code, scale)


def _png(code: segno.QRCode, scale: int) -> bytes:
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=scale, border=_BORDER)
    return buffer.getvalue()


def _svg(code: segno.QRCode, scale: int) -> str:
    buffer = io.BytesIO()
    code.save(buffer, kind="svg", scale=scale, border=_BORDER, xmldecl=False, encoding="utf-8")
    return buffer.getvalue().decode("utf-8")


def _make(data: str, scale: int) -> segno.QRCode:
    if scale < 1:
        raise ValueError(f"scale must be at least 1, got {scale}")
    # micro=False: authenticator apps cannot read Micro QR, which segno would
    # otherwise pick for very short text. boost_error=False keeps the level
    # exactly as chosen rather than raised whenever it happens to fit.
    # segno.DataOverflowError (too much data) is a ValueError already.
    return segno.make(data, error=_ERROR, micro=False, boost_error=False)
