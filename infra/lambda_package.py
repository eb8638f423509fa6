"""The Lambda package: `chalice package`, then bytecode Lambda can use for every module the zip ships.

Lambda extracts deployment.zip into a read-only /var/task without the archive's file times, so a timestamp-checked
.pyc no longer matches its source and no new one can be written: without bytecode every cold start compiles app,
chalicelib, botocore, pynamodb... from source. This step replaces whatever .pyc chalice picked up with
unchecked-hash .pyc (PEP 552), which Python loads whatever the file times, compiled by this interpreter, whose
minor version must be the functions' `Runtime` (chalice takes the Runtime from the packaging interpreter; the
check makes sure nothing else compiles). Sources stay, so tracebacks keep their lines.

`package()` is the one step behind `make synth`, `make deploy` (infra/stacks: the chalice.cdk construct) and
`make package-size` (infra/package_size.py), so what is measured is what is deployed.
"""
from __future__ import annotations

import compileall
import io
import json
import os
import py_compile
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

LAMBDA_TASK_ROOT = "/var/task"  # where Lambda extracts the package: the file names recorded in the bytecode
FUNCTION_TYPE = "AWS::Serverless::Function"
BYTECODE_DATE = (1980, 1, 1, 0, 0, 0)  # fixed entry times: the same sources give the same zip (and CDK asset hash)
BYTECODE_MODE = 0o100644 << 16  # a regular file, rw-r--r--


class PackagingError(Exception):
    pass


def interpreter_runtime() -> str:
    """The Lambda Runtime this interpreter's bytecode is for, e.g. python3.11."""
    return f"python{sys.version_info.major}.{sys.version_info.minor}"


def cache_tag_of(runtime: str) -> str:
    """python3.11 -> cpython-311: the tag in the .pyc names that runtime's interpreter looks for."""
    version = runtime.removeprefix("python")
    major, _, minor = version.partition(".")
    if not runtime.startswith("python") or not (major.isdigit() and minor.isdigit()):
        raise PackagingError(f"not a Python Lambda runtime: {runtime!r}")
    return f"cpython-{major}{minor}"


def function_runtimes(template: dict[str, Any]) -> set[str]:
    return {str(resource["Properties"]["Runtime"]) for resource in template.get("Resources", {}).values()
            if resource.get("Type") == FUNCTION_TYPE}


def package(project_dir: Path, output_dir: Path, stage: str, chalice_config: dict[str, Any] | None = None) -> int:
    """`chalice package` into output_dir (deployment.zip + sam.json), then its bytecode; returns the .pyc count."""
    from chalice import api

    api.package_app(project_dir=str(project_dir), output_dir=str(output_dir), stage=stage,
                    chalice_config=chalice_config)
    return add_bytecode(output_dir)


def add_bytecode(package_dir: Path) -> int:
    """Rewrites package_dir/deployment.zip: every entry but old .pyc, plus an unchecked-hash .pyc per .py."""
    template = json.loads((package_dir / "sam.json").read_text())
    runtimes = function_runtimes(template)
    if runtimes != {interpreter_runtime()}:
        raise PackagingError(f"the functions' Runtime is {', '.join(sorted(runtimes)) or 'missing'} but "
                             f"{sys.executable} is {interpreter_runtime()}: package with the Runtime's Python")
    zip_path = package_dir / "deployment.zip"
    with tempfile.TemporaryDirectory(prefix="philatelic-bytecode-") as scratch:
        tree = Path(scratch)
        with zipfile.ZipFile(zip_path) as source:
            kept = [entry for entry in source.infolist() if not _is_bytecode(entry.filename)]
            for entry in kept:
                if entry.filename.endswith(".py"):
                    source.extract(entry, tree)
            compiled = _compile(tree)
            rewritten = zip_path.with_suffix(".zip.tmp")
            with zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as target:
                for entry in kept:
                    target.writestr(_copy(entry), source.read(entry), compress_type=entry.compress_type)
                for path in compiled:
                    info = zipfile.ZipInfo(path.relative_to(tree).as_posix(), BYTECODE_DATE)
                    info.external_attr = BYTECODE_MODE
                    target.writestr(info, path.read_bytes(), compress_type=zipfile.ZIP_DEFLATED)
    os.replace(rewritten, zip_path)
    return len(compiled)


def _copy(entry: zipfile.ZipInfo) -> zipfile.ZipInfo:
    """A fresh ZipInfo (writing one records offsets in it) with the entry's name, time and permissions."""
    info = zipfile.ZipInfo(entry.filename, entry.date_time)
    info.external_attr = entry.external_attr
    return info


def _is_bytecode(filename: str) -> bool:
    return filename.endswith((".pyc", ".pyo")) or "/__pycache__/" in f"/{filename}"


def _compile(tree: Path) -> list[Path]:
    quiet_output = io.StringIO()  # compileall prints each failure; they are reported below, all at once
    stdout, sys.stdout = sys.stdout, quiet_output
    try:
        succeeded = compileall.compile_dir(
            tree, quiet=1, stripdir=str(tree), prependdir=LAMBDA_TASK_ROOT, workers=1,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    finally:
        sys.stdout = stdout
    if not succeeded:
        raise PackagingError(f"some shipped modules do not compile:\n{quiet_output.getvalue()[-3000:]}")
    return sorted(tree.rglob("*.pyc"))
