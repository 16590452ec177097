"""The layout's rules hold: core is pure, api/ and the stores know only core's seam."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ..support.paths import REPO

PACKAGE = REPO / "server" / "twofa_server"
MODULES = sorted(PACKAGE.rglob("*.py"))
# Libraries of the outside world: I/O, clocks, wire formats, crypto, rendering.
OUTSIDE_WORLD = {
    "grpc",
    "lmdb",
    "psycopg",
    "psycopg_pool",
    "smtplib",
    "prometheus_client",
    "nacl",
    "segno",
    "socket",
    "time",
    "threading",
    "asyncio",
}


def _name(module: Path) -> str:
    parts = module.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(module: Path) -> set[str]:
    """Every module `module` imports, relative imports resolved to full names."""
    package = _name(module).split(".")
    if module.name != "__init__.py":
        package = package[:-1]
    found = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            found.add(target)
            found |= {f"{target}.{alias.name}" for alias in node.names}
    return found


def _in(module: Path, folder: str) -> bool:
    return module.is_relative_to(PACKAGE / folder)


def _twofa(imports: set[str], folder: str) -> set[str]:
    prefix = f"twofa_server.{folder}"
    return {name for name in imports if name == prefix or name.startswith(prefix + ".")}


CORE = [m for m in MODULES if _in(m, "core")]
API = [m for m in MODULES if _in(m, "api")]
STORES = [m for m in MODULES if _in(m, "store/lmdb") or _in(m, "store/postgres")]


def _id(module: Path) -> str:
    return str(module.relative_to(PACKAGE))


def assert_only_core(imports: set[str], ours: str = "twofa_server") -> None:
    """No library of the outside world; of our own packages (names starting `ours`), core only."""
    roots = {name.split(".")[0] for name in imports}
    assert not roots & OUTSIDE_WORLD, f"imports {sorted(roots & OUTSIDE_WORLD)}"
    outside = {
        name
        for name in imports
        if name.startswith(ours) and not name.startswith("twofa_server.core")
    }
    assert not outside, f"imports {sorted(outside)}"


@pytest.mark.parametrize("module", CORE, ids=_id)
def test_core_imports_nothing_outside_core(module: Path) -> None:
    assert_only_core(imports_of(module))


@pytest.mark.parametrize("module", API, ids=_id)
def test_api_knows_no_store(module: Path) -> None:
    assert not _twofa(imports_of(module), "store"), "api/ reaches stores only through core"


@pytest.mark.parametrize("module", STORES, ids=_id)
def test_a_store_knows_nothing_of_the_api(module: Path) -> None:
    assert not _twofa(imports_of(module), "api")


def test_the_rules_see_relative_imports() -> None:
    # The rules above would pass vacuously if imports were not resolved.
    runner = PACKAGE / "api" / "runner.py"
    assert "twofa_server.core.work" in imports_of(runner)
    lmdb_store = PACKAGE / "store" / "lmdb" / "store.py"
    assert "twofa_server.store.keys" in imports_of(lmdb_store)
    assert CORE and API and STORES


# --- the tests keep the same rule -------------------------------------------------------------

CORE_TESTS = sorted((REPO / "tests" / "core").glob("*.py"))
# What core's unit tests may use besides core: the pure helpers.
PURE_SUPPORT = {"clock", "totp", "memory_store"}


def _test_imports(module: Path) -> tuple[set[str], set[str]]:
    """(absolute imports, tests/support modules imported) of a module under tests/core."""
    absolute, support = set(), set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.Import):
            absolute |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            absolute |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
        elif isinstance(node, ast.ImportFrom) and node.level == 2 and node.module:
            support.add(node.module.removeprefix("support."))
    return absolute, support


@pytest.mark.parametrize("module", CORE_TESTS, ids=lambda m: m.name)
def test_core_tests_use_core_and_pure_helpers_only(module: Path) -> None:
    absolute, support = _test_imports(module)
    assert_only_core(absolute, ours="twofa")  # the client and the generated code too
    assert support <= PURE_SUPPORT, f"imports support.{sorted(support - PURE_SUPPORT)}"
