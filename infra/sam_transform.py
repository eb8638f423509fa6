#!/usr/bin/env python3
"""Expand the SAM transform of every synthesised stack offline, as CloudFormation will at deploy time.

    python infra/sam_transform.py [infra/cdk.out]

Writes <stack>.transformed.json beside each <stack>.template.json (read by cfn-lint and tests/infra) and fails
on any transform error, so a template SAM would reject never gets as far as `make deploy`.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

DEFAULT_CDK_OUT = Path(__file__).resolve().parent / "cdk.out"


class _NoManagedPolicies:
    """The stack names no managed policies by name, so the translator never needs to ask IAM."""

    def load(self) -> dict[str, str]:
        return {}


def stack_templates(cdk_out: Path) -> list[Path]:
    manifest = json.loads((cdk_out / "manifest.json").read_text())
    return [cdk_out / artifact["properties"]["templateFile"]
            for artifact in manifest["artifacts"].values() if artifact["type"] == "aws:cloudformation:stack"]


def transform(template: dict[str, Any]) -> dict[str, Any]:
    from samtranslator.translator.transform import transform as sam_transform

    return sam_transform(template, {}, _NoManagedPolicies())


def main(argv: list[str]) -> int:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # the translator resolves pseudo parameters
    cdk_out = Path(argv[0]) if argv else DEFAULT_CDK_OUT
    for template_path in stack_templates(cdk_out):
        expanded = transform(json.loads(template_path.read_text()))
        target = template_path.with_name(template_path.name.replace(".template.json", ".transformed.json"))
        target.write_text(json.dumps(expanded, indent=1, sort_keys=True))
        print(f"{template_path.name}: SAM transform OK -> {target.name} ({len(expanded['Resources'])} resources)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
