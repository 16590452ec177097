"""One of grpc_tools.protoc's built-in generators as a protoc plugin, for `buf generate`.

grpcio-tools ships protoc with the python, pyi and grpc_python generators compiled in,
but no `protoc-gen-*` executables, and buf runs no other protoc than one on PATH. This
plugin (`python tools/protoc_gen_grpc_tools.py GENERATOR`, GENERATOR one of python, pyi,
grpc_python) reads buf's CodeGeneratorRequest, hands the same files, comments included,
to `grpc_tools.protoc --GENERATOR_out` and answers with what it wrote.

buf fills in every field's json_name; protoc leaves it unset unless the .proto sets it,
and the python generator embeds the descriptor as given. So json_name is cleared where it
is the default one, and buf.gen.yaml writes byte for byte what `make proto` does
(`make buf-gen-check` compares them).
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2
from grpc_tools import protoc  # type: ignore[import-untyped]  # grpcio-tools ships no stubs

GENERATORS = ("python", "pyi", "grpc_python")


def default_json_name(field_name: str) -> str:
    """protoc's ToJsonName: drop each underscore and upper-case the letter after it."""
    parts = field_name.split("_")
    return parts[0] + "".join(part[:1].upper() + part[1:] for part in parts[1:])


def clear_default_json_names(messages: Iterable[descriptor_pb2.DescriptorProto]) -> None:
    for message in messages:
        for field in [*message.field, *message.extension]:
            if field.json_name == default_json_name(field.name):
                field.ClearField("json_name")
        clear_default_json_names(message.nested_type)


def generate(
    generator: str, request: plugin_pb2.CodeGeneratorRequest
) -> plugin_pb2.CodeGeneratorResponse:
    response = plugin_pb2.CodeGeneratorResponse(
        supported_features=plugin_pb2.CodeGeneratorResponse.FEATURE_PROTO3_OPTIONAL
    )
    files = descriptor_pb2.FileDescriptorSet(file=request.proto_file)
    for file in files.file:
        clear_default_json_names(file.message_type)
        for extension in file.extension:
            if extension.json_name == default_json_name(extension.name):
                extension.ClearField("json_name")
    with tempfile.TemporaryDirectory(prefix="protoc-gen-") as tmp:
        descriptors = Path(tmp, "descriptors.binpb")
        descriptors.write_bytes(files.SerializeToString())
        out = Path(tmp, "out")
        out.mkdir()
        option = f"{request.parameter}:" if request.parameter else ""
        code = protoc.main(
            [
                "grpc_tools.protoc",
                f"--descriptor_set_in={descriptors}",
                f"--{generator}_out={option}{out}",
                *request.file_to_generate,
            ]
        )
        if code != 0:
            response.error = f"grpc_tools.protoc --{generator}_out exited with {code}"
            return response
        for path in sorted(p for p in out.rglob("*") if p.is_file()):
            response.file.add(
                name=path.relative_to(out).as_posix(), content=path.read_text(encoding="utf-8")
            )
    return response


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in GENERATORS:
        print(
            f"usage: {argv[0]} {{{','.join(GENERATORS)}}} < CodeGeneratorRequest", file=sys.stderr
        )
        return 2
    request = plugin_pb2.CodeGeneratorRequest.FromString(sys.stdin.buffer.read())
    sys.stdout.buffer.write(generate(argv[1], request).SerializeToString())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
