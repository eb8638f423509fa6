"""The Lambda package: `chalice package`, aarch64 builds of its compiled dependencies, then bytecode Lambda can use
for every module the zip ships.

Every function runs on arm64 (Graviton: 20 % cheaper per GB-second than x86_64). chalice downloads x86_64 manylinux
wheels, so each distribution in the zip that ships a shared object (today only bcrypt) is swapped for the
same version's manylinux2014_aarch64 wheel from PyPI (kept in .chalice/deployments/aarch64/), the functions'
`Architectures` in sam.json become arm64, and the step refuses a zip in which any shared object's ELF header names
another machine than AArch64.

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
import csv
import io
import json
import os
import py_compile
import re
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

LAMBDA_TASK_ROOT = "/var/task"  # where Lambda extracts the package: the file names recorded in the bytecode
FUNCTION_TYPE = "AWS::Serverless::Function"
FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # fixed entry times: the same sources give the same zip (and CDK asset hash)
REGULAR_FILE_MODE = 0o100644 << 16  # a regular file, rw-r--r--
ARCHITECTURE = "arm64"  # every function's Lambda architecture
WHEEL_PLATFORM = "manylinux2014_aarch64"  # needs glibc 2.17+: python3.11 runs on Amazon Linux 2 (glibc 2.26)
EM_AARCH64 = 183  # ELF e_machine of AArch64 (EM_X86_64 is 62)
WHEEL_CACHE = Path(".chalice", "deployments", "aarch64")  # under the project: git-ignored, kept between runs


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
    """`chalice package` into output_dir (deployment.zip + sam.json), made for arm64, then its bytecode; returns the
    .pyc count."""
    from chalice import api

    api.package_app(project_dir=str(project_dir), output_dir=str(output_dir), stage=stage,
                    chalice_config=chalice_config)
    use_aarch64_builds(output_dir, project_dir / WHEEL_CACHE)
    return add_bytecode(output_dir)


# --- arm64: the compiled dependencies and the template ------------------------------------------------------


def elf_machine(header: bytes) -> int | None:
    """e_machine of an ELF header (its first 20 bytes), None when the bytes are not ELF."""
    if len(header) < 20 or header[:4] != b"\x7fELF" or header[5] not in (1, 2):
        return None
    byte_order = "<" if header[5] == 1 else ">"  # EI_DATA: 1 little-endian, 2 big-endian
    return int(struct.unpack_from(byte_order + "H", header, 18)[0])


def is_shared_object(filename: str) -> bool:
    name = filename.rsplit("/", 1)[-1]
    return name.endswith(".so") or ".so." in name


def shared_object_machines(zip_path: Path) -> dict[str, int | None]:
    """Every shared object in the zip -> the machine its ELF header names."""
    with zipfile.ZipFile(zip_path) as archive:
        return {entry.filename: elf_machine(archive.open(entry).read(20)) for entry in archive.infolist()
                if is_shared_object(entry.filename)}


def function_architectures(template: dict[str, Any]) -> set[tuple[str, ...]]:
    return {tuple(resource["Properties"].get("Architectures", ["x86_64"]))
            for resource in template.get("Resources", {}).values() if resource.get("Type") == FUNCTION_TYPE}


def use_aarch64_builds(package_dir: Path, wheel_cache: Path) -> list[str]:
    """Every distribution in deployment.zip that ships a shared object is replaced by its aarch64 wheel, and every
    function becomes arm64; returns the replaced distributions (`name-version`)."""
    zip_path = package_dir / "deployment.zip"
    with zipfile.ZipFile(zip_path) as archive:
        owners = _record_owners(archive)
        compiled = sorted({owners.get(name, "") for name in archive.namelist() if is_shared_object(name)})
        if "" in compiled:
            orphans = [name for name in archive.namelist() if is_shared_object(name) and name not in owners]
            raise PackagingError(f"shared objects no distribution's RECORD lists: {', '.join(orphans)}")
        wheels = {dist_info: _aarch64_wheel(dist_info, wheel_cache) for dist_info in compiled}
        replaced = {name for name, owner in owners.items() if owner in wheels}
        rewritten = zip_path.with_suffix(".zip.tmp")
        if wheels:
            with zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as target:
                for entry in archive.infolist():
                    if entry.filename not in replaced:
                        target.writestr(_copy(entry), archive.read(entry), compress_type=entry.compress_type)
                for wheel in wheels.values():
                    _add_wheel(target, wheel)
    if wheels:
        os.replace(rewritten, zip_path)
    wrong = {name: machine for name, machine in shared_object_machines(zip_path).items() if machine != EM_AARCH64}
    if wrong:
        raise PackagingError(f"shared objects not built for AArch64 (ELF e_machine): {wrong}")
    sam_path = package_dir / "sam.json"
    template = json.loads(sam_path.read_text())
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == FUNCTION_TYPE:
            resource["Properties"]["Architectures"] = [ARCHITECTURE]
    sam_path.write_text(json.dumps(template, indent=2))
    return [dist_info.removesuffix(".dist-info") for dist_info in compiled]


def _record_owners(archive: zipfile.ZipFile) -> dict[str, str]:
    """File in the zip -> the `.dist-info` directory whose RECORD lists it (the directory's own files included)."""
    owners: dict[str, str] = {}
    for name in archive.namelist():
        dist_info, _, leaf = name.rpartition("/")
        if leaf == "RECORD" and dist_info.endswith(".dist-info") and "/" not in dist_info:
            rows = csv.reader(io.StringIO(archive.read(name).decode("utf-8")))
            for row in rows:
                if row:
                    owners[row[0]] = dist_info
            owners.update({other: dist_info for other in archive.namelist() if other.startswith(dist_info + "/")})
    return owners


def _aarch64_wheel(dist_info: str, wheel_cache: Path) -> Path:
    """The manylinux2014_aarch64 wheel of the distribution's version, for the interpreter's Python (= Runtime)."""
    name, _, version = dist_info.removesuffix(".dist-info").rpartition("-")
    prefix = f"{re.sub(r'[-_.]+', '_', name).lower()}-{version}-"
    python = f"{sys.version_info.major}.{sys.version_info.minor}"

    def cached() -> list[Path]:
        return sorted(path for path in wheel_cache.glob("*.whl")
                      if path.name.lower().startswith(prefix) and "aarch64" in path.name and _fits(path.name, python))

    found = cached()
    if not found:
        wheel_cache.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
             "--only-binary=:all:", "--platform", WHEEL_PLATFORM, "--python-version", python,
             "--implementation", "cp", "--dest", str(wheel_cache), f"{name}=={version}"],
            capture_output=True, text=True, timeout=300)
        found = cached()
        if result.returncode != 0 or not found:
            raise PackagingError(f"no {WHEEL_PLATFORM} wheel of {name}=={version} for Python {python}: "
                                 f"{result.stderr[-2000:]}")
    return found[-1]


def _fits(wheel_name: str, python: str) -> bool:
    """cp311-cp311 for this Python, or a stable-ABI wheel (cp39-abi3) built for it or an older one."""
    interpreter, abi = wheel_name.removesuffix(".whl").split("-")[-3:-1]  # name-version[-build]-python-abi-platform
    wanted = "cp" + python.replace(".", "")
    if abi == "abi3":
        return interpreter.startswith("cp") and int(interpreter[2:] or 0) <= int(wanted[2:])
    return interpreter == wanted


def _add_wheel(target: zipfile.ZipFile, wheel: Path) -> None:
    """A wheel's files as pip would install them into the zip's root (purelib/platlib data included)."""
    with zipfile.ZipFile(wheel) as source:
        for entry in source.infolist():
            if entry.is_dir():
                continue
            name = entry.filename
            head, _, rest = name.partition("/")
            if head.endswith(".data"):
                scheme, _, rest = rest.partition("/")
                if scheme not in ("purelib", "platlib"):
                    raise PackagingError(f"{wheel.name}: cannot place {name} in a Lambda package")
                name = rest
            info = zipfile.ZipInfo(name, FIXED_DATE)
            info.external_attr = entry.external_attr or REGULAR_FILE_MODE
            target.writestr(info, source.read(entry), compress_type=zipfile.ZIP_DEFLATED)


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
                    info = zipfile.ZipInfo(path.relative_to(tree).as_posix(), FIXED_DATE)
                    info.external_attr = REGULAR_FILE_MODE
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
