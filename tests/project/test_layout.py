"""The tests' own layout holds: every folder of tests is collected, helpers are not tests."""

from __future__ import annotations

import tomllib

from ..support.paths import REPO

TESTS = REPO / "tests"


def test_pytest_collects_every_folder_that_holds_tests() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    testpaths = config["tool"]["pytest"]["ini_options"]["testpaths"]
    ours = [path for path in testpaths if path.startswith("tests/")]  # not the examples'
    folders = {str(module.parent.relative_to(REPO)) for module in TESTS.rglob("test_*.py")}
    assert folders == set(ours)
    assert all((REPO / folder / "__init__.py").exists() for folder in ours)


def test_support_holds_no_tests() -> None:
    assert not list((TESTS / "support").rglob("test_*.py"))
