"""`make load PROFILE=1`: py-spy samples local AWS (the moto server) and the stack during the traffic phase and
writes one flame graph each to reports/ (profile-moto.svg, profile-stack.svg)."""
from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

from infra.load.report import REPORTS_DIR
from infra.local.child import ChildStack

SAMPLES_PER_SECOND = 100
STOP_TIMEOUT_SECONDS = 60.0
MOTO_MODULE = "infra.local.moto_main"


def _py_spy() -> str:
    found = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if found is None:
        raise RuntimeError("py-spy is not installed (it is in requirements-dev.txt: `make install`)")
    return found


def _children(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(child) for child in (task / "children").read_text().split()]
    return children


def _moto_pid(stack_pid: int) -> int:
    for child in _children(stack_pid):
        if MOTO_MODULE in Path(f"/proc/{child}/cmdline").read_text().replace("\0", " "):
            return child
    raise RuntimeError(f"no {MOTO_MODULE} process under the stack (pid {stack_pid})")


class Profiles:
    """Started before the traffic, stopped after it: py-spy writes its flame graph when interrupted."""

    def __init__(self, stack: ChildStack) -> None:
        self._targets = {"moto": _moto_pid(stack.pid), "stack": stack.pid}
        self._recorders: dict[str, subprocess.Popen[bytes]] = {}
        self.paths = {name: REPORTS_DIR / f"profile-{name}.svg" for name in self._targets}

    def start(self) -> None:
        REPORTS_DIR.mkdir(parents=True, exist_ok=True)
        py_spy = _py_spy()
        for name, pid in self._targets.items():
            self._recorders[name] = subprocess.Popen(
                [py_spy, "record", "--pid", str(pid), "--rate", str(SAMPLES_PER_SECOND), "--format", "flamegraph",
                 "--output", str(self.paths[name]), "--nonblocking"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def stop(self) -> list[Path]:
        written = []
        for name, recorder in self._recorders.items():
            recorder.send_signal(signal.SIGINT)
            try:
                _, errors = recorder.communicate(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                recorder.kill()
                recorder.communicate()
                errors = b"py-spy did not stop in time"
            if self.paths[name].exists():
                written.append(self.paths[name])
            else:
                print(f"  profile of {name} not written: {errors.decode(errors='replace')[-500:]}", flush=True)
        return written
