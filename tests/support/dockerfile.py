"""Reading deploy/docker/Dockerfile as Docker does, for tests that check it without an engine."""

from __future__ import annotations

import json
import shlex

from .paths import REPO

DOCKERFILE = REPO / "deploy" / "docker" / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1]) for text in logical]


def environment() -> dict[str, str]:
    """The variables the image's ENV instructions set."""
    env: dict[str, str] = {}
    for instruction, arguments in instructions():
        if instruction == "ENV":
            for pair in shlex.split(arguments):
                name, _, value = pair.partition("=")
                env[name] = value
    return env


def healthcheck() -> tuple[dict[str, str], list[str]]:
    """The HEALTHCHECK's options (--interval=30s → {"interval": "30s"}) and its exec-form
    command."""
    [arguments] = [args for name, args in instructions() if name == "HEALTHCHECK"]
    options_text, _, command = arguments.partition(" CMD ")
    options = dict(option.lstrip("-").split("=", 1) for option in options_text.split())
    parsed: list[str] = json.loads(command)
    return options, parsed
