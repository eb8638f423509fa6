"""`make fuzz`: start the local stack on free ports, seed it, run Schemathesis against /openapi.json, stop it.

    .venv/bin/python -m infra.fuzz.run [--max-time 180] [--max-examples 100] [--seed N] [-- extra `st run` args]

Exit status: Schemathesis's (0 when every check passed), or 2 when the stack could not be started or seeded.
What it fails on, and why some checks are left out: tests/fuzz/README.md.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import requests

from infra.local import faults
from infra.local.chalice_app import PROJECT_DIR
from infra.local.child import ChildStack
from infra.local.errors import StackError

START_TIMEOUT_SECONDS = 45.0
STOP_TIMEOUT_SECONDS = 15.0
PASSWORD = "fuzz-Passw0rd"
# Built-in checks left out (see tests/fuzz/README.md): business failures are HTTP 200 with envelope code 1000, so
# "invalid input must get a 4xx" and "valid input must get a 2xx" do not describe this API; the envelope-aware
# counterparts are the response schema (anyOf success / BusinessFailure) and `no_write_on_error`.
EXCLUDED_CHECKS = ("negative_data_rejection", "positive_data_acceptance")
DEFAULT_MAX_TIME = 180
DEFAULT_MAX_EXAMPLES = 100
REQUEST_TIMEOUT = 20
CONFLICT_RATE = 0.05  # share of transactions/conditional writes answered as a conflict (see local_stack)


def local_stack() -> ChildStack:
    """The stack for a fuzz run: cheap bcrypt cost, so the seeding logins are quick; 5 % of transactions and
    conditional writes meet a transaction conflict, as in the cloud (infra/local/faults.py)."""
    return ChildStack({"BCRYPT_ROUNDS": "4", faults.CONFLICT_RATE_VARIABLE: str(CONFLICT_RATE)},
                      start_timeout=START_TIMEOUT_SECONDS, stop_timeout=STOP_TIMEOUT_SECONDS)


# --- seed data ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    user_id: int
    email: str
    token: str


@dataclass
class Seed:
    main: Account
    ids: set[int] = field(default_factory=set)


def _data(stack: ChildStack, response: requests.Response) -> Any:
    envelope = response.json() if response.status_code == 200 else {}
    if envelope.get("code") != 200:
        raise StackError(f"seeding failed: {response.request.method} {response.url} -> {response.status_code} "
                         f"{response.text}\n{stack.output()[-3000:]}")
    return envelope["data"]


def _call(stack: ChildStack, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return _data(stack, requests.request(method, f"{stack.http_url}{path}", headers=headers, timeout=REQUEST_TIMEOUT,
                                         **kwargs))


def _emailed_code(stack: ChildStack, email: str) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        messages = requests.get(f"{stack.aws_url}/moto-api/data.json", timeout=10).json()["ses"]["Message"]
        for message in messages:
            code = re.search(r"\b(\d{6})\b", message["body"])
            if email in message["destinations"]["ToAddresses"] and code:
                return code.group(1)
        time.sleep(0.1)
    raise StackError(f"no email reached {email}")


def register(stack: ChildStack, prefix: str) -> Account:
    email = f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"
    _call(stack, "POST", "/auth/sendEmailCode", json={"email": email, "email_type": 1})
    code = _emailed_code(stack, email)
    _call(stack, "POST", "/auth/registered", json={"email": email, "name": f"{prefix}{uuid.uuid4().hex[:6]}",
                                                   "password": PASSWORD, "password_repeat": PASSWORD, "code": code})
    login = _call(stack, "POST", "/auth/login", json={"email": email, "password": PASSWORD})
    return Account(int(login["id"]), email, str(login["token"]))


def _ids(value: Any, names: Sequence[str] = ("id", "group_id", "serverId", "to_id", "form_id")) -> set[int]:
    found: set[int] = set()
    if isinstance(value, dict):
        for name, inner in value.items():
            if name in names and isinstance(inner, int) and not isinstance(inner, bool):
                found.add(inner)
            else:
                found |= _ids(inner, names)
    elif isinstance(value, list):
        for inner in value:
            found |= _ids(inner, names)
    return found


def seed(stack: ChildStack) -> Seed:
    """Three users: the fuzzed one (main) is friends with `friend`, owns a group with it, has chatted in both, owns
    a server group and an invite; `stranger` has a pending request to main. Every id seen goes to the id pool."""
    main, friend, stranger = (register(stack, name) for name in ("fuzz", "friend", "stranger"))
    result = Seed(main, {1, main.user_id, friend.user_id, stranger.user_id})
    record = _call(stack, "POST", "/friends/record", main.token, json={"to_id": friend.user_id, "information": "hi"})
    result.ids |= _ids(record)
    requests_for_friend = _call(stack, "GET", "/friends/record", friend.token)
    pending = [row for row in requests_for_friend if row.get("form_id") == main.user_id] or requests_for_friend
    result.ids |= _ids(_call(stack, "PUT", "/friends/record", friend.token,
                             json={"id": pending[0]["id"], "status": 1}))
    result.ids |= _ids(_call(stack, "POST", "/friends/record", stranger.token,
                             json={"to_id": main.user_id, "information": "hello"}))
    group = _call(stack, "POST", "/groups/store", main.token,
                  json={"name": "fuzz group", "info": "seeded", "avatar": "https://example.com/a.png",
                        "select_user": [friend.user_id]})
    result.ids |= _ids(group)
    group_id = max(_ids(group, ("id", "group_id")) or {0})
    result.ids |= _ids(_call(stack, "POST", "/messages/private", main.token,
                             json={"msg_client_id": 1, "to_id": friend.user_id, "msg_type": 1, "message": "hello"}))
    if group_id:
        result.ids |= _ids(_call(stack, "POST", "/messages/group", main.token,
                                 json={"msg_client_id": 2, "to_id": group_id, "msg_type": 1, "message": "all"}))
        result.ids |= _ids(_call(stack, "POST", f"/invite/{group_id}", main.token, json={}))
    result.ids |= _ids(_call(stack, "POST", "/server_groups/createServer", main.token, json={"name": "fuzz server"}))
    result.ids |= _ids(_call(stack, "GET", "/sessions", main.token))
    result.ids = {value for value in result.ids if 0 < value < 2**31}
    return result


# --- Schemathesis ---------------------------------------------------------------------------------------------


# Both documented security schemes get the fuzzed user's token (from FUZZ_TOKEN): the app lets `?token=` win over
# the header, so a generated `token` query value would otherwise turn most requests into 401s.
CONFIG = """\
[auth.openapi.bearerAuth]
bearer = "${FUZZ_TOKEN}"

[auth.openapi.tokenQuery]
api_key = "${FUZZ_TOKEN}"
"""


def schemathesis_command(stack: ChildStack, config_file: Path, args: argparse.Namespace,
                         report_dir: Path) -> list[str]:
    st = Path(sys.executable).with_name("st")
    command = [
        str(st) if st.exists() else "st", "--config-file", str(config_file), "run", f"{stack.http_url}/openapi.json",
        "--checks", "all", "--exclude-checks", ",".join(EXCLUDED_CHECKS),
        "--mode", "all",  # positive and negative data
        "--workers", "1",  # no_write_on_error compares the table before and after each call
        "--max-examples", str(args.max_examples),
        "--request-timeout", str(REQUEST_TIMEOUT),
        "--suppress-health-check", "all",
        "--report", "junit", "--report-dir", str(report_dir),
        # logging out would end the run's one token and leave every later case a 401; its behaviour is tested in
        # tests/api/test_token_revocation.py
        "--exclude-path", "/auth/logout",
    ]
    if args.max_time:
        command += ["--max-time", str(args.max_time)]
    if args.seed is not None:
        command += ["--seed", str(args.seed)]
    if args.phases:
        command += ["--phases", args.phases]
    return command + list(args.extra)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m infra.fuzz.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-time", type=int, default=int(os.environ.get("FUZZ_MAX_TIME", DEFAULT_MAX_TIME)),
                        help="time budget of the Schemathesis run in seconds (0: none; stops after max-examples)")
    parser.add_argument("--max-examples", type=int,
                        default=int(os.environ.get("FUZZ_MAX_EXAMPLES", DEFAULT_MAX_EXAMPLES)),
                        help="test cases per operation and phase")
    parser.add_argument("--seed", type=int, default=None, help="Hypothesis seed, for a reproducible run")
    parser.add_argument("--phases", default=os.environ.get("FUZZ_PHASES"),
                        help="comma-separated: examples,coverage,fuzzing,stateful (default: all)")
    parser.add_argument("--report-dir", type=Path, default=None, help="where the JUnit report goes (default: temp)")
    parser.add_argument("--timeout", type=int, default=None,
                        help="hard limit for the Schemathesis process in seconds (default: max-time + 120)")
    parser.add_argument("--stack-log", type=Path, default=None, help="write the local stack's whole output here")
    parser.add_argument("extra", nargs="*", help="more `st run` arguments, after --")
    return parser.parse_args(argv)


def run(argv: Sequence[str] | None = None, out: IO[str] | None = None) -> int:
    args = parse_args(argv)
    out = out or sys.stdout
    hard_limit = args.timeout or (args.max_time or 600) + 120
    try:
        with local_stack() as stack, tempfile.TemporaryDirectory() as temporary:
            data = seed(stack)
            report_dir = args.report_dir or Path(temporary)
            stats_file = Path(temporary) / "stats.json"
            environment = dict(os.environ, SCHEMATHESIS_HOOKS="infra.fuzz.hooks", FUZZ_AWS_URL=stack.aws_url,
                               FUZZ_STATS_FILE=str(stats_file),
                               FUZZ_TABLE=stack.table, FUZZ_IDS=json.dumps(sorted(data.ids)),
                               PYTHONPATH=str(PROJECT_DIR), NO_COLOR="1", COLUMNS="120")
            config_file = Path(temporary) / "schemathesis.toml"
            config_file.write_text(CONFIG, encoding="utf-8")
            environment.update(FUZZ_TOKEN=data.main.token, FUZZ_USER_ID=str(data.main.user_id))
            command = schemathesis_command(stack, config_file, args, report_dir)
            print(f"fuzzing {stack.http_url} as user {data.main.user_id}; seeded ids {sorted(data.ids)}", file=out,
                  flush=True)
            try:
                finished = subprocess.run(command, cwd=PROJECT_DIR, env=environment, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                          timeout=hard_limit)
                output, status = finished.stdout, finished.returncode
            except subprocess.TimeoutExpired as expired:
                output = (expired.stdout or b"").decode() if isinstance(expired.stdout, bytes) else expired.stdout or ""
                output += f"\nSchemathesis did not finish within {hard_limit} s"
                status = 124
            if args.stack_log:
                args.stack_log.write_text(stack.output(), encoding="utf-8")
            stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
            if status == 0 and not stats.get("error answers compared with the table"):
                output += "\nno_write_on_error compared no error answer: the hooks did not run"
                status = 3
            if status != 0:  # the stack's side first: a report that shows only its end shows Schemathesis's summary
                lines = stack.output().splitlines()
                errors = [line for line in lines if "Traceback" in line or "Error" in line]
                print("--- local stack output (last 40 lines) ---\n" + "\n".join(lines[-40:]), file=out)
                print(f"--- {len(errors)} error lines in the stack's output (the last 20) ---", *errors[-20:], sep="\n",
                      file=out)
            print(output, file=out)
            print("fuzz stats: " + json.dumps(stats, sort_keys=True), file=out, flush=True)
            return status
    except StackError as error:
        print(error, file=out)
        return 2


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
