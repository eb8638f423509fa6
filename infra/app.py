#!/usr/bin/env python3
"""CDK app: one stack per stage named by `-c stage=dev|prod|dev,prod` (default dev). See infra/README.md.

Run through the CDK CLI from infra/ (`make synth`, `make deploy STAGE=prod`), or without it as
`CDK_OUTDIR=cdk.out python app.py -c stage=prod` (then the context comes from cdk.json and the `-c` pairs).
chalice.cdk packages the app into ./chalice.out/<uuid> of the working directory (git-ignored).
"""
import json
import os
import sys

import aws_cdk as cdk

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from stacks.philatelic_stack import PhilatelicImStack  # noqa: E402
from stacks.settings import load, stages  # noqa: E402


def context_without_cli(argv: list[str]) -> dict:
    """The CDK CLI passes cdk.json's context and `-c` pairs itself; a plain `python app.py` does not."""
    if "CDK_CONTEXT_JSON" in os.environ or "CONTEXT_OVERFLOW_LOCATION_ENV" in os.environ:
        return {}
    with open(os.path.join(HERE, "cdk.json")) as config:
        context = json.load(config).get("context", {})
    for flag, pair in zip(argv, argv[1:], strict=False):
        if flag in ("-c", "--context") and "=" in pair:
            key, value = pair.split("=", 1)
            context[key] = value
    return context


# The CLI sets CDK_OUTDIR; a plain run writes to infra/cdk.out instead of a temporary directory.
app = cdk.App(context=context_without_cli(sys.argv[1:]),
              outdir=None if "CDK_OUTDIR" in os.environ else os.path.join(HERE, "cdk.out"))
for stage in stages(app.node):
    PhilatelicImStack(app, load(app.node, stage))
app.synth()
