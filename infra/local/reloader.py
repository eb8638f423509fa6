"""Reloading the app in place when app.py or anything under chalicelib/ changes, while the rest of the stack runs.

A thread polls the files' modification times and sizes. On a change it imports `app` and every `chalicelib`
module anew and hands the new app to the stack (HTTP routes and WebSocket handlers switch over at once; requests
already running finish on the old code; local AWS, its data and the open sockets are untouched). When the new code
does not import (a syntax error, a failing import...), the error is printed, the previous modules are put back
and the previous app keeps serving until the files change again.
"""
from __future__ import annotations

import importlib
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from chalice import Chalice
from chalice.deploy.validate import validate_feature_flags, validate_routes

from infra.local.polling import Polling

POLL_SECONDS = 0.5
SETTLE_SECONDS = 0.2  # an editor saving several files at once: take them in one reload
APP_MODULES = ("app", "chalicelib")

Snapshot = dict[Path, tuple[int, int]]


def sources(project_dir: Path) -> Snapshot:
    files = [project_dir / "app.py", *sorted((project_dir / "chalicelib").rglob("*.py"))]
    snapshot = {}
    for path in files:
        try:
            status = path.stat()
        except FileNotFoundError:  # deleted between listing and stat
            continue
        snapshot[path] = (status.st_mtime_ns, status.st_size)
    return snapshot


def changed_files(before: Snapshot, after: Snapshot) -> list[Path]:
    return sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))


def _is_app_module(name: str) -> bool:
    return any(name == root or name.startswith(root + ".") for root in APP_MODULES)


def import_app_anew(use_app: Callable[[Chalice], None]) -> Chalice:
    """Imports app.py and chalicelib again and passes the app to use_app; on any failure, the previous modules
    are back in sys.modules and the error is raised."""
    previous: dict[str, ModuleType] = {name: module for name, module in sys.modules.items() if _is_app_module(name)}
    for name in previous:
        del sys.modules[name]
    importlib.invalidate_caches()
    try:
        app = importlib.import_module("app").app
        validate_feature_flags(app)
        validate_routes(app.routes)
        use_app(app)
    except BaseException:
        for name in [name for name in sys.modules if _is_app_module(name)]:
            del sys.modules[name]
        sys.modules.update(previous)
        raise
    return app


def describe_failure(error: BaseException) -> str:
    if isinstance(error, SyntaxError):
        where = f"{error.filename}, line {error.lineno}"
        text = f"\n    {error.text.rstrip()}" if error.text else ""
        return f"{type(error).__name__} in {where}: {error.msg}{text}"
    return "".join(traceback.format_exception(error)).rstrip()


class Reloader(Polling):
    name = "code reloader"
    interval = POLL_SECONDS

    def __init__(self, project_dir: Path, use_app: Callable[[Chalice], None]) -> None:
        super().__init__()
        self._project_dir = project_dir
        self._use_app = use_app
        self._snapshot: Snapshot = {}

    def start(self) -> None:
        self._snapshot = sources(self._project_dir)
        super().start()

    def tick(self) -> None:
        if sources(self._project_dir) == self._snapshot:
            return
        self.pause(SETTLE_SECONDS)
        current = sources(self._project_dir)
        changed, self._snapshot = changed_files(self._snapshot, current), current
        self.reload(changed)

    def reload(self, changed: list[Path]) -> bool:
        names = ", ".join(str(path.relative_to(self._project_dir)) for path in changed)
        try:
            import_app_anew(self._use_app)
        except Exception as error:
            print(f"\nreload FAILED after changes to {names}; the previous app keeps serving until the files are "
                  f"fixed:\n{describe_failure(error)}", flush=True)
            return False
        print(f"\nreloaded the app (app.py and chalicelib/) after changes to {names}; local AWS, its data and the "
              "open sockets were kept", flush=True)
        return True
