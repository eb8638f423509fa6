"""`python -m infra.load.stack_main`: the local stack as `make run` starts it, tuned for load runs.

The `local` stage's BCRYPT_ROUNDS (.chalice/config.json) wins over the shell, so `LOAD_BCRYPT_ROUNDS` is applied
on top of the app's environment here, and moto runs as infra.load.moto_main (see there why). Everything else is
`infra.local.stack.main()` unchanged, fault injection included (infra/local/faults.py).
"""
from __future__ import annotations

import os
import subprocess
import sys
from types import SimpleNamespace
from typing import Any

from infra.local import moto_server, stack

_app_environment = stack.app_environment


def _load_environment(*args: object, **kwargs: object) -> dict[str, str]:
    environment = _app_environment(*args, **kwargs)  # type: ignore[arg-type]
    rounds = os.environ.get("LOAD_BCRYPT_ROUNDS")
    if rounds:
        environment["BCRYPT_ROUNDS"] = rounds
    return environment


def _popen(args: list[str], *rest: Any, **kwargs: Any) -> Any:
    """moto's server as infra.load.moto_main (DynamoDB serialised) unless LOAD_RAW_MOTO=1."""
    if os.environ.get("LOAD_RAW_MOTO") != "1" and args[1:3] == ["-m", "moto.server"]:
        args = [args[0], "-m", "infra.load.moto_main", *args[3:]]
    return subprocess.Popen(args, *rest, **kwargs)


if __name__ == "__main__":
    stack.app_environment = _load_environment  # type: ignore[assignment]
    moto_server.subprocess = SimpleNamespace(  # type: ignore[assignment]
        **{name: getattr(subprocess, name) for name in ("DEVNULL", "PIPE", "STDOUT", "TimeoutExpired")},
        Popen=_popen)
    sys.exit(stack.main())
