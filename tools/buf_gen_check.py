"""Checks that buf.gen.yaml's Python entries write exactly the checked-in clients/python code.

`make proto` (grpc_tools.protoc) is what writes clients/python; buf.gen.yaml has entries for
the same output so that one `buf generate` serves every language. This runs only those
entries (the ones with `out: clients/python`; the Go and Java ones need plugins CI does not
have) into a temporary directory and compares file by file.

Usage: python tools/buf_gen_check.py BUF   (from the repository root; BUF: the buf binary)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

TEMPLATE = Path("buf.gen.yaml")
OUT = "clients/python"
GENERATED = Path(OUT, "twofa", "v1")


def python_entries(template: str, out_dir: Path) -> str:
    """The template with only its `out: clients/python` plugins, writing to `out_dir`.

    buf.gen.yaml keeps `plugins:` last, one `  - ` item per plugin with its keys under it.
    """
    header, found, body = template.partition("\nplugins:\n")
    if not found:
        raise SystemExit(f"{TEMPLATE}: no 'plugins:' section")
    entries: list[list[str]] = []
    for line in body.splitlines():
        if line.startswith("  - "):
            entries.append([line])
        elif line.startswith("    ") and entries:
            entries[-1].append(line)
    kept = [entry for entry in entries if f"    out: {OUT}" in entry]
    if not kept:
        raise SystemExit(f"{TEMPLATE}: no plugin writes to {OUT}")
    lines = [line.replace(f"out: {OUT}", f"out: {out_dir}") for entry in kept for line in entry]
    return header + "\nplugins:\n" + "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    buf = argv[1]
    with tempfile.TemporaryDirectory(prefix="buf-gen-check-") as tmp:
        out_dir = Path(tmp, "out")
        template = Path(tmp, "buf.gen.python.yaml")
        template.write_text(python_entries(TEMPLATE.read_text(encoding="utf-8"), out_dir))
        subprocess.run([buf, "generate", "--template", str(template)], check=True)
        written = {p.relative_to(out_dir) for p in out_dir.rglob("*") if p.is_file()}
        expected = {p.relative_to(OUT) for p in GENERATED.iterdir() if p.name != "__init__.py"}
        problems = [f"{OUT}/{p}: not written by buf generate" for p in sorted(expected - written)]
        problems += [f"{OUT}/{p}: not checked in" for p in sorted(written - expected)]
        problems += [
            f"{OUT}/{p}: differs from what buf generate writes"
            for p in sorted(written & expected)
            if Path(out_dir, p).read_bytes() != Path(OUT, p).read_bytes()
        ]
    for problem in problems:
        print(f"buf-gen-check: {problem}", file=sys.stderr)
    if not problems:
        print(f"buf-gen-check: buf.gen.yaml writes the {len(written)} checked-in files of {OUT}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
