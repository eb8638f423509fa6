"""The Chalice app as `chalice local` loads it: stage `local` from .chalice/config.json, environment set first."""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from chalice import Chalice
from chalice.cli.factory import CLIFactory
from chalice.config import Config
from chalice.deploy.validate import validate_routes

from infra.local.settings import StackSettings

PROJECT_DIR = Path(__file__).resolve().parents[2]
STAGE = "local"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
# A real session token or a named profile must not leak into the local stack (a missing profile even breaks boto3).
UNSET = ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE")
# Stage variables a developer may override from the shell (e.g. a cheap bcrypt cost for load runs).
SHELL_OVERRIDES = ("BCRYPT_ROUNDS",)


def stage_config(project_dir: Path = PROJECT_DIR, environment: Mapping[str, str] | None = None) -> Config:
    """The local stage; `environment` wins over its variables (chalice local applies them to every request, so the
    stack's own ports must be in the config, not only in the process environment)."""
    overrides = {"environment_variables": dict(environment)} if environment is not None else None
    return CLIFactory(str(project_dir), environ=os.environ).create_config_obj(chalice_stage_name=STAGE,
                                                                              user_provided_params=overrides)


def app_environment(config: Config, settings: StackSettings) -> dict[str, str]:
    """The stage's variables (SHELL_OVERRIDES from the shell win) plus what points the app at the local services
    (as Lambda, both region names)."""
    environment = {str(name): str(value) for name, value in config.environment_variables.items()}
    environment.update({name: os.environ[name] for name in SHELL_OVERRIDES if os.environ.get(name)})
    region = environment.get("AWS_DEFAULT_REGION") or "us-east-1"
    environment.update(FAKE_CREDENTIALS)
    environment.update(
        AWS_REGION=region,
        AWS_DEFAULT_REGION=region,
        AWS_ENDPOINT_URL=settings.aws_url,
        WS_MANAGEMENT_ENDPOINT=settings.ws_management_url,
        PUBLIC_BASE_URL=settings.http_url,
    )
    return environment


def install_environment(environment: dict[str, str]) -> None:
    """Must run before `app` is imported: PynamoDB reads the table name and region at import time."""
    for name in UNSET:
        os.environ.pop(name, None)
    os.environ.update(environment)


def load_app(config: Config) -> Chalice:
    """Imports app.py (once per process) and checks its routes as `chalice local` does."""
    app = config.chalice_app
    validate_routes(app.routes)
    return app
