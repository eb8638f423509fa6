#!/usr/bin/env python3
"""Package budget (performance-notes P10): `chalice package` the app and check what would be deployed.

    python infra/package_size.py [--stage prod] [--json] [--keep DIR]

Builds the package in-process with the step `make synth`/`make deploy` use (infra/lambda_package.py: chalice's
packager, then unchecked-hash bytecode for every module) into a temporary directory, then checks:
  * deployment.zip <= 25 MB, unzipped <= 40 MB, our own code (app.py + chalicelib/, with its bytecode) <= 1 MB.
    The bytecode that spares every cold start compiling from source adds ~2 MB zipped and ~5 MB unzipped to
    ~19.5 / 29.5 MB of sources and data (botocore alone is 18 MB of JSON); the budget keeps that with ~3.5 / 6 MB
    of headroom, half of Lambda's 50 MB direct-upload limit and far below its 250 MB unzipped limit;
  * every shared object is built for AArch64 (its ELF header's e_machine), as every function runs on arm64;
  * no test, infra or dev-only package inside (tests/, infra/, moto, pytest, aws_cdk, cdk, jsii, ...);
  * the per-function memory and timeout of .chalice/config.json really reached sam.json.
Prints a summary (or JSON with --json) and exits 1 when a check fails. Needs the runtime requirements
installed (chalice imports app.py) and PyPI reachable the first time (chalice downloads manylinux wheels and
caches them in .chalice/deployments/).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
MB = 1_000_000
MAX_ZIP_MB = 25.0
MAX_UNZIPPED_MB = 40.0
MAX_OWN_CODE_MB = 1.5  # 1.21 MB (sources and bytecode) once replies, receipts, mentions, mute, edit, reactions, block
# and pins were added (issues 24 and 25)
OWN_CODE = ("app.py", "chalicelib/")
# Top-level names that must never be deployed, besides every dev-only requirement (read below).
FORBIDDEN_TOP_LEVEL = {
    "tests", "test", "infra", "docs", "moto", "pytest", "_pytest", "pytest_cov", "coverage", "aws_cdk", "cdk",
    "jsii", "constructs", "cfnlint", "cfn_lint", "samtranslator", "ruff", "mypy", "mypyc", "chalice.out",
    "cdk.out", "node_modules",
}
# Chalice function name -> resource in sam.json (the names .chalice/config.json lambda_functions must use).
FUNCTION_RESOURCES = {
    "api_handler": "APIHandler",
    "websocket_connect": "WebsocketConnect",
    "websocket_message": "WebsocketMessage",
    "websocket_disconnect": "WebsocketDisconnect",
    "deliver": "Deliver",
}
# API Gateway gives up on its integrations after 29 s; `deliver` is invoked by the table stream's mapping instead.
OUTSIDE_API_GATEWAY = ("deliver",)


def requirement_names(path: Path) -> set[str]:
    names: set[str] = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        name = re.split(r"[\[<>=!~;@ ]", line, maxsplit=1)[0]
        names.add(name.lower().replace("-", "_").replace(".", "_"))
    return names


def forbidden_names() -> set[str]:
    runtime = requirement_names(PROJECT_DIR / "requirements.txt")
    dev_path = PROJECT_DIR / "requirements-dev.txt"
    dev_only = requirement_names(dev_path) - runtime - {"chalice"} if dev_path.exists() else set()
    return FORBIDDEN_TOP_LEVEL | dev_only


def package(stage: str, output_dir: Path) -> float:
    """The deployed package, built by the same step as `make synth`/`make deploy`; returns the seconds it took."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # chalice refuses to package without a region
    sys.path.insert(0, str(PROJECT_DIR))
    from lambda_package import package as package_with_bytecode

    started = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # chalice prints progress; stdout stays the report
        package_with_bytecode(PROJECT_DIR, output_dir, stage)
    return time.perf_counter() - started


def inspect(output_dir: Path, stage: str, seconds: float) -> dict[str, Any]:
    from lambda_package import EM_AARCH64, shared_object_machines

    zip_path = output_dir / "deployment.zip"
    with zipfile.ZipFile(zip_path) as archive:
        entries = archive.infolist()
    unzipped = sum(entry.file_size for entry in entries)
    own_code = sum(entry.file_size for entry in entries if entry.filename.startswith(OWN_CODE))
    forbidden = forbidden_names()
    offenders = sorted({
        entry.filename.split("/", 1)[0] for entry in entries
        if _top_level_name(entry.filename) in forbidden
    })
    sam = json.loads((output_dir / "sam.json").read_text())
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    sizing = {}
    for function, resource in FUNCTION_RESOURCES.items():
        properties = sam["Resources"].get(resource, {}).get("Properties", {})
        wanted = {**config.get("lambda_functions", {}).get(function, {}),
                  **config.get("stages", {}).get(stage, {}).get("lambda_functions", {}).get(function, {})}
        sizing[function] = {
            "resource": resource,
            "memory_mb": properties.get("MemorySize"),
            "timeout_s": properties.get("Timeout"),
            "configured_memory_mb": wanted.get("lambda_memory_size"),
            "configured_timeout_s": wanted.get("lambda_timeout"),
        }
    unknown_config = sorted(set(config.get("lambda_functions", {})) - set(FUNCTION_RESOURCES))
    report: dict[str, Any] = {
        "stage": stage,
        "package_seconds": round(seconds, 2),
        "zip_bytes": zip_path.stat().st_size,
        "zip_mb": round(zip_path.stat().st_size / MB, 2),
        "unzipped_mb": round(unzipped / MB, 2),
        "own_code_mb": round(own_code / MB, 3),
        "entries": len(entries),
        "py_entries": sum(1 for entry in entries if entry.filename.endswith(".py")),
        "pyc_entries": sum(1 for entry in entries if entry.filename.endswith(".pyc")),
        "forbidden_entries": offenders,
        "shared_objects": shared_object_machines(zip_path),  # name -> ELF e_machine
        "expected_machine": EM_AARCH64,
        "architectures": sorted({",".join(resource["Properties"].get("Architectures", ["x86_64"]))
                                 for resource in sam["Resources"].values()
                                 if resource["Type"] == "AWS::Serverless::Function"}),
        "functions": sizing,
        "unknown_lambda_functions_in_config": unknown_config,
        "largest_top_level_mb": _largest(entries),
    }
    report["failures"] = failures(report)
    return report


def _top_level_name(filename: str) -> str:
    top = filename.split("/", 1)[0]
    for suffix in (".py", ".dist-info", ".data", ".libs"):
        if top.endswith(suffix):
            top = top[: -len(suffix)]
            if suffix in (".dist-info", ".data"):
                top = top.rsplit("-", 1)[0]
    return top.lower().replace("-", "_")


def _largest(entries: list[zipfile.ZipInfo]) -> dict[str, float]:
    sizes: dict[str, int] = {}
    for entry in entries:
        top = entry.filename.split("/", 1)[0]
        sizes[top] = sizes.get(top, 0) + entry.file_size
    return {name: round(size / MB, 2) for name, size in sorted(sizes.items(), key=lambda item: -item[1])[:5]}


def failures(report: dict[str, Any]) -> list[str]:
    problems = []
    if report["zip_mb"] > MAX_ZIP_MB:
        problems.append(f"deployment.zip is {report['zip_mb']} MB (budget {MAX_ZIP_MB} MB)")
    if report["unzipped_mb"] > MAX_UNZIPPED_MB:
        problems.append(f"unzipped package is {report['unzipped_mb']} MB (budget {MAX_UNZIPPED_MB} MB)")
    if report["own_code_mb"] > MAX_OWN_CODE_MB:
        problems.append(f"app.py + chalicelib/ are {report['own_code_mb']} MB (budget {MAX_OWN_CODE_MB} MB)")
    foreign = {name: machine for name, machine in report["shared_objects"].items()
               if machine != report["expected_machine"]}
    if foreign:
        problems.append(f"shared objects not built for AArch64 (ELF e_machine): {foreign}")
    if report["architectures"] != ["arm64"]:
        problems.append(f"functions' Architectures {report['architectures']}, expected arm64 only")
    if report["forbidden_entries"]:
        problems.append(f"test/infra/dev packages inside the zip: {', '.join(report['forbidden_entries'])}")
    if report["unknown_lambda_functions_in_config"]:
        problems.append("lambda_functions in .chalice/config.json name no chalice function: "
                        + ", ".join(report["unknown_lambda_functions_in_config"]))
    for function, sizing in report["functions"].items():
        for key in ("memory_mb", "timeout_s"):
            configured = sizing[f"configured_{key}"]
            if configured is not None and sizing[key] != configured:
                problems.append(f"{function}: sam.json {key}={sizing[key]} but .chalice/config.json says {configured}")
        if function not in OUTSIDE_API_GATEWAY and sizing["timeout_s"] is not None and sizing["timeout_s"] > 29:
            problems.append(f"{function}: timeout {sizing['timeout_s']} s exceeds API Gateway's 29 s")
    for function in ("api_handler", "websocket_message"):  # bcrypt and fan-out need the CPU (P12)
        memory = report["functions"][function]["memory_mb"]
        if memory is None or memory < 1024:
            problems.append(f"{function}: {memory} MB memory, needs >= 1024 MB")
    return problems


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", default="prod")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--keep", type=Path, help="package into this directory and keep it")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="philatelic-package-") as scratch:
        output_dir = args.keep or Path(scratch) / "package"
        seconds = package(args.stage, output_dir)
        report = inspect(output_dir, args.stage, seconds)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"stage {report['stage']}: deployment.zip {report['zip_mb']} MB ({report['zip_bytes']} bytes), "
              f"unzipped {report['unzipped_mb']} MB, own code {report['own_code_mb']} MB, "
              f"{report['entries']} entries ({report['pyc_entries']} .pyc), packaged in {report['package_seconds']} s")
        print("shared objects (ELF e_machine, 183 = AArch64): "
              + (", ".join(f"{name} {machine}" for name, machine in report["shared_objects"].items()) or "none"))
        print("largest: " + ", ".join(f"{name} {size} MB" for name, size in report["largest_top_level_mb"].items()))
        for function, sizing in report["functions"].items():
            print(f"  {function} ({sizing['resource']}): {sizing['memory_mb']} MB, {sizing['timeout_s']} s")
        for problem in report["failures"]:
            print(f"FAIL: {problem}")
        print("package budget: " + ("FAILED" if report["failures"] else "OK"))
    return 1 if report["failures"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
