"""Every function runs on arm64 (Graviton), and the package carries AArch64 builds of its compiled dependencies
(infra/lambda_package.py): read from each shared object's ELF header, in the synthesised asset and on small
packages built here."""
from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

import pytest

from infra.lambda_package import (
    EM_AARCH64,
    PackagingError,
    elf_machine,
    function_architectures,
    shared_object_machines,
    use_aarch64_builds,
)
from tests.infra.conftest import Stack
from tests.infra.test_bytecode import code_assets

EM_X86_64 = 62


def elf_header(machine: int, little_endian: bool = True) -> bytes:
    """The first 20 bytes of a 64-bit ELF shared object (ET_DYN) for `machine`."""
    order = "<" if little_endian else ">"
    ident = b"\x7fELF" + bytes([2, 1 if little_endian else 2, 1]) + bytes(9)
    return ident + struct.pack(order + "HH", 3, machine)


def test_elf_machine_reads_the_header() -> None:
    assert elf_machine(elf_header(EM_AARCH64)) == EM_AARCH64 == 183
    assert elf_machine(elf_header(EM_X86_64)) == EM_X86_64
    assert elf_machine(elf_header(EM_AARCH64, little_endian=False)) == EM_AARCH64
    assert elf_machine(b"\x7fELF") is None  # too short
    assert elf_machine(b"PK\x03\x04" + bytes(16)) is None  # not ELF


def test_every_function_is_arm64(stack: Stack) -> None:
    assert function_architectures(stack.template) == {("arm64",)}


def test_every_function_is_arm64_after_the_sam_transform(stack: Stack, expanded: dict) -> None:
    functions = [resource for resource in expanded["Resources"].values() if resource["Type"] == "AWS::Lambda::Function"]
    assert functions and all(function["Properties"]["Architectures"] == ["arm64"] for function in functions)


def test_the_asset_ships_aarch64_builds_of_every_compiled_dependency(stack: Stack) -> None:
    for zip_path in set(code_assets(stack).values()):
        machines = shared_object_machines(zip_path)
        assert "bcrypt/_bcrypt.abi3.so" in machines
        assert {name: machine for name, machine in machines.items() if machine != EM_AARCH64} == {}


# --- the step itself, on small packages (the wheel cache is seeded: no download) ------------------------------


def small_package(directory: Path, files: dict[str, bytes]) -> Path:
    resources = {"Handler": {"Type": "AWS::Serverless::Function",
                             "Properties": {"Runtime": "python3.11", "Architectures": ["x86_64"]}}}
    (directory / "sam.json").write_text(json.dumps({"Resources": resources}))
    with zipfile.ZipFile(directory / "deployment.zip", "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return directory


def record(*names: str) -> bytes:
    return "".join(f"{name},sha256=x,1\n" for name in names).encode()


def wheel(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def test_replaces_a_compiled_distribution_with_its_aarch64_wheel(tmp_path: Path) -> None:
    package = small_package(tmp_path, {
        "app.py": b"import fastlib\n",
        "fastlib/__init__.py": b"from fastlib._speed import go\n",
        "fastlib/_speed.abi3.so": elf_header(EM_X86_64) + b"x86 code",
        "fastlib/x86_only.py": b"",
        "fastlib-1.2.dist-info/RECORD": record("fastlib/__init__.py", "fastlib/_speed.abi3.so", "fastlib/x86_only.py",
                                                "fastlib-1.2.dist-info/RECORD"),
        "purelib-3.0.dist-info/RECORD": record("purelib.py"),
        "purelib.py": b"X = 1\n",
    })
    cache = tmp_path / "wheels"
    cache.mkdir()
    wheel(cache / "fastlib-1.2-cp39-abi3-manylinux2014_aarch64.manylinux_2_17_aarch64.whl", {
        "fastlib/__init__.py": b"from fastlib._speed import go\n",
        "fastlib/_speed.abi3.so": elf_header(EM_AARCH64) + b"arm code",
        "fastlib-1.2.dist-info/RECORD": record("fastlib/__init__.py", "fastlib/_speed.abi3.so"),
    })
    assert use_aarch64_builds(package, cache) == ["fastlib-1.2"]
    zip_path = package / "deployment.zip"
    assert shared_object_machines(zip_path) == {"fastlib/_speed.abi3.so": EM_AARCH64}
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
        assert archive.read("fastlib/_speed.abi3.so").endswith(b"arm code")
        assert archive.read("purelib.py") == b"X = 1\n" and archive.read("app.py") == b"import fastlib\n"
    assert "fastlib/x86_only.py" not in names  # the x86 distribution's files go with it
    assert function_architectures(json.loads((package / "sam.json").read_text())) == {("arm64",)}


def test_a_shared_object_no_distribution_owns_stops_the_package(tmp_path: Path) -> None:
    package = small_package(tmp_path, {"app.py": b"", "vendored/_native.so": elf_header(EM_X86_64)})
    before = (package / "deployment.zip").read_bytes()
    with pytest.raises(PackagingError, match="vendored/_native.so"):
        use_aarch64_builds(package, tmp_path / "wheels")
    assert (package / "deployment.zip").read_bytes() == before


def test_a_wheel_that_is_not_aarch64_inside_stops_the_package(tmp_path: Path) -> None:
    """The wheel's name is not trusted: each shared object's header is read after the swap."""
    package = small_package(tmp_path, {
        "fastlib/_speed.so": elf_header(EM_X86_64),
        "fastlib-1.2.dist-info/RECORD": record("fastlib/_speed.so"),
    })
    cache = tmp_path / "wheels"
    cache.mkdir()
    wheel(cache / "fastlib-1.2-cp311-cp311-manylinux2014_aarch64.whl", {"fastlib/_speed.so": elf_header(EM_X86_64)})
    with pytest.raises(PackagingError, match="AArch64"):
        use_aarch64_builds(package, cache)
