"""Tests of twofa_server.api.qr: the QR code must scan back to the exact URI."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from twofa_server.api import qr
from twofa_server.core import otp

from ..support.tools import required_tool

URI = otp.provisioning_uri(b"12345678901234567890", "jürgen@example.com", "ACME Corp")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG_NAMESPACE = "{http://www.w3.org/2000/svg}"


def zbarimg() -> str:
    """Returns the path of zbarimg; skips locally when missing, fails in CI (which installs it)."""
    return required_tool("zbarimg", "Debian/Ubuntu: apt-get install zbar-tools")


def decode(png: bytes, tmp_path: Path) -> str:
    image = tmp_path / "code.png"
    image.write_bytes(png)
    result = subprocess.run(
        [zbarimg(), "--raw", "-q", str(image)],
        capture_output=True,
        check=True,
        timeout=60,
    )
    # zbarimg ends each symbol with a newline; nothing else is stripped so that
    # any other difference from the URI fails the test.
    return result.stdout.decode("utf-8").removesuffix("\n")


@pytest.mark.parametrize("scale", [2, 5, 10])
def test_png_scans_back_to_the_uri(scale: int, tmp_path: Path) -> None:
    assert decode(qr.render_png(URI, scale=scale), tmp_path) == URI


def test_png_of_a_long_uri_scans_back(tmp_path: Path) -> None:
    # A 64-byte secret and long labels push the code to a larger QR version.
    uri = otp.provisioning_uri(bytes(range(64)), "a.very.long.account.name@example.com", "Issuer")
    assert decode(qr.render_png(uri), tmp_path) == uri


def test_png_signature_and_size() -> None:
    small = qr.render_png(URI, scale=5)
    large = qr.render_png(URI, scale=10)
    assert small.startswith(PNG_SIGNATURE)
    assert large.startswith(PNG_SIGNATURE)
    # IHDR is the first chunk: width and height are big-endian at bytes 16..24.
    width, height = int.from_bytes(small[16:20], "big"), int.from_bytes(small[20:24], "big")
    assert width == height
    assert width % 5 == 0
    assert int.from_bytes(large[16:20], "big") == 2 * width
    # Version (4v + 17 modules) plus a quiet zone of four modules on each side.
    modules = width // 5
    assert (modules - 8 - 17) % 4 == 0


def test_png_is_deterministic() -> None:
    assert qr.render_png(URI) == qr.render_png(URI)
    assert qr.render_png(URI) != qr.render_png(URI + "x")


def test_svg_is_a_well_formed_document() -> None:
    svg = qr.render_svg(URI)
    root = ET.fromstring(svg)  # noqa: S314 (our own output, not untrusted XML)
    assert root.tag == f"{SVG_NAMESPACE}svg"
    assert root.get("width") == root.get("height")
    assert not svg.startswith("<?xml")


def test_svg_is_deterministic() -> None:
    assert qr.render_svg(URI) == qr.render_svg(URI)
    assert qr.render_svg(URI) != qr.render_svg(URI + "x")


def test_svg_and_png_have_the_same_size_in_units() -> None:
    png = qr.render_png(URI, scale=3)
    root = ET.fromstring(qr.render_svg(URI, scale=3))  # noqa: S314 (our own output)
    assert root.get("width") == str(int.from_bytes(png[16:20], "big"))


@pytest.mark.parametrize("render", [qr.render_png, qr.render_svg])
def test_bad_input_is_a_value_error(render: Callable[..., object]) -> None:
    with pytest.raises(ValueError, match="scale"):
        render(URI, scale=0)
    with pytest.raises(ValueError):
        render("x" * 8000)  # beyond version 40


def test_render_both_gives_the_same_images_as_rendering_each() -> None:
    assert qr.render_both(URI) == (qr.render_png(URI), qr.render_svg(URI))
