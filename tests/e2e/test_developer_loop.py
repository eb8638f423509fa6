"""The developer loop over real sockets: reload on edit, data across restarts, `make aws` + `chalice local`.

Each test starts its own stacks (in a temporary copy of the project when it edits code or configuration), with
generous timeouts and polling, so a slow 2-core machine only makes them slower.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from infra.local.chalice_app import PROJECT_DIR
from infra.local.child import clean_environment
from infra.local.ports import wait_until_listening
from tests.e2e.conftest import RunningStack
from tests.e2e.test_chat_flows import User, frames, without_bot
from tests.e2e.test_local_stack import PASSWORD

pytestmark = pytest.mark.e2e

START_TIMEOUT = 90.0
RELOAD_TIMEOUT = 30.0  # "within a couple of seconds" on an idle machine; generous for a busy one
COPIED = ("app.py", "chalicelib", "infra", ".chalice/config.json", "requirements.txt")
IGNORED = shutil.ignore_patterns("__pycache__", "node_modules", "cdk.out", "chalice.out", "*.pyc")
PROBE_ROUTE = '''

@bp.route("/dev-loop-probe", methods=["GET"])
def dev_loop_probe() -> dict:
    return {"code": 200, "message": "Success", "data": {"version": VERSION}}
'''


def copy_project(target: Path) -> Path:
    for name in COPIED:
        source = PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=IGNORED)
        else:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def wait_for(condition: Callable[[], bool], what: str, stack: RunningStack, timeout: float = RELOAD_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; the stack said:\n{stack.output()[-4000:]}")


def probe(stack: RunningStack) -> int | None:
    response = requests.get(f"{stack.http_url}/dev-loop-probe", timeout=10)
    return response.json()["data"]["version"] if response.status_code == 200 else None


def login_code(stack: RunningStack, user: User) -> int:
    response = requests.post(f"{stack.http_url}/auth/login", data={"email": user.email, "password": PASSWORD},
                             timeout=10)
    return int(response.json()["code"])


@contextmanager
def running(stack: RunningStack) -> Iterator[RunningStack]:
    with stack:
        yield stack
    assert stack.exit_code == 0, f"the local stack did not stop cleanly:\n{stack.output()[-4000:]}"


def test_an_edit_reloads_in_place_and_keeps_data_and_a_syntax_error_keeps_the_previous_app(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    module = project / "chalicelib" / "api" / "users.py"
    original = module.read_text()
    with running(RunningStack(start_timeout=START_TIMEOUT, stop_timeout=30, project_dir=project)) as stack:
        user = User(stack)
        assert probe(stack) is None
        module.write_text(original + "\nVERSION = 1\n" + PROBE_ROUTE)
        wait_for(lambda: probe(stack) == 1, "the edited route to answer", stack)
        assert "reloaded the app" in stack.output() and "chalicelib/api/users.py" in stack.output()
        assert login_code(stack, user) == 200  # data and the running local AWS survived the reload

        module.write_text(original + "\nVERSION = 2\n" + PROBE_ROUTE + "\ndef broken(:\n")
        wait_for(lambda: "reload FAILED" in stack.output(), "the syntax error to be reported", stack)
        assert "SyntaxError" in stack.output() and "users.py" in stack.output()
        assert probe(stack) == 1  # the previous app keeps serving

        module.write_text(original + "\nVERSION = 3\n" + PROBE_ROUTE)
        wait_for(lambda: probe(stack) == 3, "the fixed file to be reloaded", stack)
        assert login_code(stack, user) == 200


def test_data_survives_a_restart_and_fresh_starts_empty(tmp_path: Path) -> None:
    environment = {"LOCAL_DATA_DIR": str(tmp_path / "data")}
    with running(RunningStack(environment, start_timeout=START_TIMEOUT, stop_timeout=30)) as first:
        user = User(first)
        bucket = str(first.aws("s3").list_buckets()["Buckets"][0]["Name"])
        first.aws("s3").put_object(Bucket=bucket, Key="uploads/kept.txt", Body=b"kept", ContentType="text/plain")
    assert "saved" in first.output() and (tmp_path / "data" / "table.jsonl").exists()

    with running(RunningStack(environment, start_timeout=START_TIMEOUT, stop_timeout=30)) as second:
        assert login_code(second, user) == 200
        kept = second.aws("s3").get_object(Bucket=bucket, Key="uploads/kept.txt")
        assert kept["Body"].read() == b"kept" and kept["ContentType"] == "text/plain"

    with running(RunningStack({**environment, "LOCAL_FRESH": "1"}, start_timeout=START_TIMEOUT,
                              stop_timeout=30)) as fresh:
        assert login_code(fresh, user) != 200
        assert fresh.aws("s3").list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def point_local_stage_at(project: Path, stack: RunningStack) -> None:
    """`chalice local` takes the endpoints from the local stage; this stack runs on free ports."""
    config_path = project / ".chalice" / "config.json"
    config = json.loads(config_path.read_text())
    config["stages"]["local"]["environment_variables"].update(
        AWS_ENDPOINT_URL=stack.aws_url, WS_MANAGEMENT_ENDPOINT=stack.settings.ws_management_url,
        PUBLIC_BASE_URL=stack.http_url)
    config_path.write_text(json.dumps(config, indent=2))


@contextmanager
def chalice_local(project: Path, stack: RunningStack, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`chalice local --stage local` (with its autoreload, which restarts on any change in the project folder: the
    log is kept outside) in its own process group, stopped with the group."""
    chalice = Path(sys.executable).with_name("chalice")
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(chalice), "local", "--stage", "local", "--host", stack.settings.host,
             "--port", str(stack.settings.http_port)],
            cwd=project, env=clean_environment() | {"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"},
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            listening = wait_until_listening(stack.settings.host, stack.settings.http_port, START_TIMEOUT,
                                             lambda: process.poll() is None)
            assert listening, f"chalice local did not start:\n{log_path.read_text()[-4000:]}"
            yield process
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


def test_make_aws_serves_chalice_local_with_pushes_to_the_sockets(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    stack = RunningStack(start_timeout=START_TIMEOUT, stop_timeout=30, project_dir=project, serve_http=False)
    point_local_stage_at(project, stack)
    with running(stack), chalice_local(project, stack, tmp_path / "chalice-local.log"):
        alice, bob = User(stack), User(stack)
        assert login_code(stack, alice) == 200
        with bob.socket() as bob_socket:
            frames(bob_socket, 2, 2)  # the bot's greetings
            alice.call("POST", "/friends/record", to_id=bob.id, information="hi from chalice local")
            (request,) = without_bot(frames(bob_socket, 1, timeout=15))
            assert request["msg_code"] == 1000 and request["users"]["id"] == alice.id
