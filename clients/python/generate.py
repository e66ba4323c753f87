"""Generates the Python gRPC code for every contract in protos/ into contoso_retail_client/_generated.

Usage: python3 generate.py [--protos DIR] [--googleapis DIR] [--protoc PATH] [--plugin PATH]

Uses Debian's protoc (protobuf-compiler) and grpc_python_plugin (protobuf-compiler-grpc); python3-grpc-tools'
bundled protoc is too old for proto3 `optional`. The generated code is not committed: run this after changing
a proto (the tests run it every time, so a contract that no longer compiles fails them).

protoc writes imports as `from inventory.v1 import inventory_pb2`; they are rewritten to point inside this
package so the generated modules never claim top-level names such as `options` or `orders`. The HTTP rules'
google/api/annotations.proto and http.proto (found by protos/googleapis-path) are generated here too, under
`_generated.google.api`, since Debian has no Python package for them.
"""
import argparse
import pathlib
import re
import shutil
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
PACKAGE = "contoso_retail_client"
OUT = HERE / PACKAGE / "_generated"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protos", default=str(HERE.parent.parent / "protos"), help="the contracts folder")
    parser.add_argument("--googleapis", help="folder holding google/api/annotations.proto [default: protos/googleapis-path]")
    parser.add_argument("--protoc", default=shutil.which("protoc") or "protoc")
    parser.add_argument("--plugin", default=shutil.which("grpc_python_plugin") or "grpc_python_plugin")
    args = parser.parse_args()

    protos = pathlib.Path(args.protos).resolve()
    files = sorted(p.relative_to(protos).as_posix() for p in protos.rglob("*.proto"))
    if not files:
        print(f"error: no .proto files under {protos}", file=sys.stderr)
        return 1

    googleapis = args.googleapis or googleapis_path(protos)
    if googleapis is None:
        return 1
    google_api = ["google/api/annotations.proto", "google/api/http.proto"]

    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    command = [
        args.protoc, f"-I{protos}", f"-I{googleapis}", f"--python_out={OUT}", f"--grpc_python_out={OUT}",
        f"--plugin=protoc-gen-grpc_python={args.plugin}", *files, *google_api,
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        print(f"error: protoc failed:\n{result.stderr}", file=sys.stderr)
        return 1

    roots = sorted({f.split("/")[0] for f in files}) + ["google.api"]
    own_import = re.compile(r"^from (" + "|".join(map(re.escape, roots)) + r")((?:\.\w+)*) import ", re.MULTILINE)
    for module in OUT.rglob("*.py"):
        text = own_import.sub(lambda m: f"from {PACKAGE}._generated.{m.group(1)}{m.group(2)} import ", module.read_text())
        module.write_text(text)
    for folder in [OUT, *(p for p in OUT.rglob("*") if p.is_dir())]:
        (folder / "__init__.py").touch()

    print(f"generated {len(files)} contract(s) from {protos} into {OUT.relative_to(HERE)}")
    return 0


def googleapis_path(protos: pathlib.Path) -> str | None:
    """The second include path, as protos/googleapis-path finds it (environment, NuGet or npm package)."""
    # Through bash: `dotnet new` does not keep the script's executable bit.
    result = subprocess.run(["bash", str(protos / "googleapis-path")], capture_output=True, text=True)
    if result.returncode != 0:
        print(f"error: {result.stderr.strip()}", file=sys.stderr)
        return None
    return result.stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
