"""The synthesised CloudFormation of infra/ (`make synth`), read from infra/cdk.out; no AWS, no CDK import."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
CDK_OUT = PROJECT_DIR / "infra" / "cdk.out"
NOT_SYNTHESISED = "infra/cdk.out has no synthesised stack: run `make synth` (or `make infra-test`) first"


@dataclass(frozen=True)
class Stack:
    stage: str
    template: dict[str, Any]
    transformed: dict[str, Any] | None  # after the SAM transform (infra/sam_transform.py), when it was run
    manifest: dict[str, Any]

    @property
    def resources(self) -> dict[str, Any]:
        return self.template["Resources"]

    def of_type(self, resource_type: str, expanded: bool = False) -> dict[str, Any]:
        source = self.transformed if expanded and self.transformed else self.template
        return {name: resource for name, resource in source["Resources"].items()
                if resource["Type"] == resource_type}

    @property
    def api_type(self) -> str:
        """"http" when an HTTP API serves the routes (infra/stacks `apiType`), else "rest" (chalice's REST API)."""
        return "http" if "HttpApi" in self.resources else "rest"

    def one(self, resource_type: str) -> tuple[str, dict[str, Any]]:
        found = self.of_type(resource_type)
        assert len(found) == 1, f"{self.stage}: expected one {resource_type}, found {sorted(found)}"
        return next(iter(found.items()))


def load_stacks() -> dict[str, Stack]:
    manifest_path = CDK_OUT / "manifest.json"
    if not manifest_path.exists():
        return {}
    manifest = json.loads(manifest_path.read_text())
    stacks = {}
    for name, artifact in manifest.get("artifacts", {}).items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        template_file = CDK_OUT / artifact["properties"]["templateFile"]
        transformed_file = template_file.with_name(template_file.name.replace(".template.json", ".transformed.json"))
        transformed = None
        if transformed_file.exists() and transformed_file.stat().st_mtime >= template_file.stat().st_mtime:
            transformed = json.loads(transformed_file.read_text())
        stacks[name] = Stack(stage=name, template=json.loads(template_file.read_text()),
                             transformed=transformed, manifest=artifact)
    return stacks


STACKS = load_stacks()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`stack` runs a test once per synthesised stage; `prod_stack` only on prod."""
    if "stack" in metafunc.fixturenames:
        stages = sorted(STACKS) or ["(none)"]
        metafunc.parametrize("stack", stages, indirect=True)


@pytest.fixture
def stack(request: pytest.FixtureRequest) -> Stack:
    if request.param not in STACKS:
        pytest.skip(NOT_SYNTHESISED)
    return STACKS[request.param]


@pytest.fixture
def rest_stack(stack: Stack) -> Stack:
    """`stack`, for the tests of a REST API stage (apiType "rest")."""
    if stack.api_type != "rest":
        pytest.skip(f"{stack.stage} serves its routes with an HTTP API (tests/infra/test_http_api.py)")
    return stack


@pytest.fixture
def http_stack(stack: Stack) -> Stack:
    """`stack`, for the tests of an HTTP API stage (apiType "http")."""
    if stack.api_type != "http":
        pytest.skip(f"{stack.stage} serves its routes with chalice's REST API (apiType rest)")
    return stack


@pytest.fixture
def prod_stack() -> Stack:
    if "prod" not in STACKS:
        pytest.skip(NOT_SYNTHESISED.replace("stack", "prod stack") + " with STAGE=prod (or dev,prod)")
    return STACKS["prod"]


@pytest.fixture
def expanded(stack: Stack) -> dict[str, Any]:
    if stack.transformed is None:
        pytest.skip("no fresh <stage>.transformed.json: run `make infra-test` (infra/sam_transform.py after synth)")
    return stack.transformed
