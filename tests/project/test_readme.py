"""The README and docs stay true: the quick-start runs, the tables match the code, the
links lead somewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from twofa_server.app import Application
from twofa_server.config import describe

from ..support.clock import FixedClock
from ..support.metrics import scrape
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


def test_the_readme_configuration_summary_is_rows_of_the_full_table() -> None:
    summary = between(README, "<!-- config-summary:begin -->\n", "<!-- config-summary:end -->")
    rows = summary.strip().splitlines()
    full = describe().splitlines()
    assert len(rows) >= 12
    for row in rows:
        assert row in full, f"README configuration row not generated from the code: {row}"


def _documented_metrics(page: str) -> set[str]:
    """The metric names in the first column of a page's tables."""
    return {
        name
        for cell in re.findall(r"^\| ([^|]+) \|", page, flags=re.MULTILINE)
        for name in re.findall(r"`((?:twofa|grpc)_\w+)`", cell)
    }


@pytest.mark.lmdb_only  # the LMDB map gauges
def test_the_metric_tables_name_what_the_server_exports(app: Application) -> None:
    exported = {name for name, _ in scrape(app)}
    families = {re.sub(r"_(bucket|count|sum|created)$", "", name) for name in exported}
    observability = _documented_metrics((REPO / "docs" / "observability.md").read_text())
    in_readme = _documented_metrics(README)

    assert len(in_readme) >= 8
    assert in_readme <= observability, in_readme - observability
    assert observability <= exported | families, observability - (exported | families)
    undocumented = {name for name in families if name.startswith("twofa_")} - observability
    assert not undocumented, undocumented


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
