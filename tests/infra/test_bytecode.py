"""The deployed package carries bytecode Lambda can use (infra/lambda_package.py), and it pays off at cold start.

The synthesised assets in infra/cdk.out are what `make deploy` uploads; the small packages built here attack the
step's rules (runtime mismatch, stale .pyc, a module that does not compile).
"""
from __future__ import annotations

import importlib.util
import json
import sys
import zipfile
from pathlib import Path, PurePosixPath

import pytest

from infra.cold_start import measure
from infra.lambda_package import PackagingError, add_bytecode, cache_tag_of, function_runtimes, interpreter_runtime
from tests.infra.conftest import CDK_OUT, Stack

COLD_START_RUNS = 7  # fresh processes per tree (after one warm-up round); the fastest absorbs a busy moment
MAX_COLD_START_RATIO = 1.25
UNCHECKED_HASH_FLAGS = 0b01  # PEP 552: hash-based, check_source off


def code_assets(stack: Stack) -> dict[str, Path]:
    """Function logical id -> the asset zip in cdk.out its CodeUri points at."""
    assets = json.loads((CDK_OUT / f"{stack.stage}.assets.json").read_text())["files"]
    found = {}
    for name, resource in stack.of_type("AWS::Serverless::Function").items():
        asset_hash = resource["Properties"]["CodeUri"]["Key"].removesuffix(".zip")
        found[name] = CDK_OUT / assets[asset_hash]["source"]["path"]
    return found


def bytecode_problems(zip_path: Path, runtime: str) -> list[str]:
    """Every .py needs its unchecked-hash .pyc for the runtime, matching its source; no other .pyc may ship."""
    tag = cache_tag_of(runtime)
    problems = []
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
        for name in sorted(names):
            path = PurePosixPath(name)
            if name.endswith(".py"):
                cached = str(path.parent / "__pycache__" / f"{path.stem}.{tag}.pyc").removeprefix("./")
                if cached not in names:
                    problems.append(f"{name}: no {cached}")
                    continue
                header = archive.read(cached)[:16]
                if int.from_bytes(header[4:8], "little") != UNCHECKED_HASH_FLAGS:
                    problems.append(f"{cached}: not an unchecked-hash .pyc")
                if header[8:16] != importlib.util.source_hash(archive.read(name)):
                    problems.append(f"{cached}: compiled from another source")
                if runtime == interpreter_runtime() and header[:4] != importlib.util.MAGIC_NUMBER:
                    problems.append(f"{cached}: magic number of another Python")
            elif name.endswith(".pyc") and not name.endswith(f".{tag}.pyc"):
                problems.append(f"{name}: bytecode of another interpreter than {runtime}")
    return problems


def test_every_shipped_module_has_bytecode_of_the_functions_runtime(stack: Stack) -> None:
    runtimes = function_runtimes(stack.template)
    assert len(runtimes) == 1, runtimes
    for zip_path in set(code_assets(stack).values()):
        assert bytecode_problems(zip_path, next(iter(runtimes)))[:20] == []


def test_cold_start_of_the_deployed_package_is_close_to_compiled(prod_stack: Stack) -> None:
    """`import app` from the asset extracted as Lambda does vs the same tree after an ordinary compile."""
    (asset,) = set(code_assets(prod_stack).values())
    result = measure(asset, COLD_START_RUNS)
    print(result.summary())
    assert result.ratio <= MAX_COLD_START_RATIO, result.summary()


# --- the step itself, on small packages ----------------------------------------------------------------------


def small_package(directory: Path, runtime: str, files: dict[str, str]) -> Path:
    resources = {"Handler": {"Type": "AWS::Serverless::Function", "Properties": {"Runtime": runtime}}}
    (directory / "sam.json").write_text(json.dumps({"Resources": resources}))
    with zipfile.ZipFile(directory / "deployment.zip", "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return directory


def test_compiles_every_module_and_drops_stale_bytecode(tmp_path: Path) -> None:
    package = small_package(tmp_path, interpreter_runtime(), {
        "app.py": "import lib.mod\n", "lib/__init__.py": "", "lib/mod.py": "VALUE = 1\n", "data.json": "{}",
        "lib/__pycache__/mod.cpython-30.pyc": "stale", "old.pyc": "stale"})
    assert add_bytecode(package) == 3
    zip_path = package / "deployment.zip"
    assert bytecode_problems(zip_path, interpreter_runtime()) == []
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
        assert archive.read("data.json") == b"{}"
    assert not names & {"lib/__pycache__/mod.cpython-30.pyc", "old.pyc"}


def test_refuses_to_compile_for_another_runtime(tmp_path: Path) -> None:
    other = f"python{sys.version_info.major}.{sys.version_info.minor + 1}"
    package = small_package(tmp_path, other, {"app.py": "X = 1\n"})
    before = (package / "deployment.zip").read_bytes()
    with pytest.raises(PackagingError, match=other):
        add_bytecode(package)
    assert (package / "deployment.zip").read_bytes() == before


def test_a_module_that_does_not_compile_stops_the_package(tmp_path: Path) -> None:
    package = small_package(tmp_path, interpreter_runtime(), {"app.py": "def broken(:\n"})
    with pytest.raises(PackagingError, match="app.py"):
        add_bytecode(package)


def test_the_check_catches_bytecode_of_another_interpreter(tmp_path: Path) -> None:
    """What a synth under another Python than the Runtime would ship: .pyc with the wrong cache tag."""
    package = small_package(tmp_path, interpreter_runtime(), {"app.py": "X = 1\n"})
    add_bytecode(package)
    other = f"python{sys.version_info.major}.{sys.version_info.minor + 1}"
    assert any("another interpreter" in problem for problem in bytecode_problems(package / "deployment.zip", other))
