"""Package budget (performance-notes P10/P12): what `chalice package --stage prod` would deploy."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from infra.package_size import MAX_OWN_CODE_MB, MAX_UNZIPPED_MB, MAX_ZIP_MB, OUTSIDE_API_GATEWAY
from tests.infra.conftest import PROJECT_DIR

SCRIPT = PROJECT_DIR / "infra" / "package_size.py"


@pytest.fixture(scope="module")
def report() -> dict:
    pytest.importorskip("chalice", reason="chalice is not installed in this environment")
    result = subprocess.run([sys.executable, str(SCRIPT), "--stage", "prod", "--json"], cwd=PROJECT_DIR,
                            capture_output=True, text=True, timeout=600)
    assert result.stdout, f"package_size.py printed no report:\n{result.stderr[-3000:]}"
    return json.loads(result.stdout) | {"exit_code": result.returncode}


def test_deployment_zip_within_budget(report: dict) -> None:
    assert report["zip_mb"] <= MAX_ZIP_MB, report["largest_top_level_mb"]
    assert report["unzipped_mb"] <= MAX_UNZIPPED_MB
    assert report["own_code_mb"] <= MAX_OWN_CODE_MB


def test_every_module_ships_with_its_bytecode(report: dict) -> None:
    assert report["pyc_entries"] == report["py_entries"] > 0


def test_no_test_infra_or_dev_packages_inside(report: dict) -> None:
    assert report["forbidden_entries"] == []


def test_per_function_sizing_reached_sam_json(report: dict) -> None:
    functions = report["functions"]
    for name, sizing in functions.items():
        if sizing["configured_memory_mb"] is not None:
            assert sizing["memory_mb"] == sizing["configured_memory_mb"], name
        if sizing["configured_timeout_s"] is not None:
            assert sizing["timeout_s"] == sizing["configured_timeout_s"], name
        if name not in OUTSIDE_API_GATEWAY:
            assert sizing["timeout_s"] <= 29, name
    assert functions["api_handler"]["memory_mb"] >= 1024
    assert functions["websocket_message"]["memory_mb"] >= 1024
    assert report["unknown_lambda_functions_in_config"] == []


def test_script_agrees(report: dict) -> None:
    assert report["failures"] == [] and report["exit_code"] == 0


def test_compiled_dependencies_are_built_for_aarch64(report: dict) -> None:
    """Every function runs on arm64: bcrypt (the one compiled dependency today) and any other shared object must
    be an AArch64 build, read from each file's ELF header."""
    assert "bcrypt/_bcrypt.abi3.so" in report["shared_objects"]
    assert set(report["shared_objects"].values()) == {report["expected_machine"]} == {183}
    assert report["architectures"] == ["arm64"]
