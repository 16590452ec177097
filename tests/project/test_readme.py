"""The README and docs stay true: the quick-start runs, the tables match the code, the
links lead somewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from twofa_server.app import Application
from twofa_server.config import describe

from ..support.clock import FixedClock
from ..support.paths import REPO
from ..support.totp import totp_code

README = (REPO / "README.md").read_text()
CONFIGURATION = (REPO / "docs" / "configuration.md").read_text()


def between(text: str, begin: str, end: str) -> str:
    return text.split(begin, 1)[1].split(end, 1)[0]


def test_quickstart_snippet_enrolls_and_verifies(
    app: Application,
    clock: FixedClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    snippet = between(README, "<!-- quickstart -->\n```python\n", "```")
    assert '"127.0.0.1:50051"' in snippet  # the address `make run` serves on
    snippet = snippet.replace('"127.0.0.1:50051"', repr(app.addresses[0]))
    namespace: dict[str, object] = {}

    def type_code_from_app(prompt: str) -> str:
        # A person reads the app, and for the second code waits for the next step.
        if "Next" in prompt:
            clock.advance(30)
        setup = namespace["setup"]
        return totp_code(setup.secret, clock.now())  # type: ignore[attr-defined]

    namespace["input"] = type_code_from_app
    monkeypatch.chdir(tmp_path)
    exec(compile(snippet, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    printed = capsys.readouterr().out
    assert "enabled" in printed
    assert "ACCEPTED OK 5" in printed
    assert printed.count("-") >= 20  # ten backup codes, XXXX-XXXX-XXXX
    assert (tmp_path / "alice-qr.png").read_bytes().startswith(b"\x89PNG")


def test_configuration_table_is_generated_from_the_settings() -> None:
    table = between(CONFIGURATION, "<!-- config:begin -->\n", "<!-- config:end -->")
    assert table.strip() == describe().strip()


def test_every_rpc_of_the_proto_is_in_the_rpc_table() -> None:
    proto = (REPO / "proto/twofa/v1/twofa.proto").read_text()
    rpcs = re.findall(r"^\s*rpc (\w+)\(", proto, flags=re.MULTILINE)
    assert len(rpcs) >= 16
    for rpc in rpcs:
        assert f"`{rpc}`" in README, rpc


def test_every_relative_link_of_the_readme_and_docs_exists() -> None:
    for page in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to {target}"
