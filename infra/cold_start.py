"""Cold-start import time of a real deployment.zip, as Lambda meets it, against the same tree compiled as usual.

The zip is extracted as Lambda extracts it (the archive's file times are not kept) and `import app` runs in fresh
processes that may read bytecode but never write any (`-B`, as in the read-only /var/task), with the package and
the standard library only on sys.path (`-S`: nothing from a virtualenv). The reference is the same tree after an
ordinary compile (timestamp-checked .pyc written beside the sources after extraction), so the ratio says how much
a cold start loses to the package's bytecode: 1.0 when every module loads from usable bytecode.
Used by `make bench` (tests/perf/bench.py) and tests/infra/test_cold_start.py; ratios only, never absolute times.
"""
from __future__ import annotations

import compileall
import py_compile
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

IMPORT_PROBE = ("import sys, time; sys.path.insert(0, '.'); sys.modules['cryptography'] = None; "
                "started = time.perf_counter(); import app; print(time.perf_counter() - started)")
# What `import app` reads at import time; nothing is called, so no AWS is needed.
PROBE_ENVIRONMENT = {"STAGE": "test", "TABLE_NAME": "philatelic-cold-start", "AWS_DEFAULT_REGION": "us-east-1",
                     "PYTHONDONTWRITEBYTECODE": "1"}


@dataclass(frozen=True)
class ColdStart:
    runs: int
    # The fastest of the rounds: other work on the machine only ever adds time, so the minimum is the closest
    # estimate of each tree's own import cost (a median still moved by ±25 % on a busy 2-core machine).
    deployed_seconds: float  # the package as deployed
    compiled_seconds: float  # the same tree after an ordinary compile
    source_seconds: float | None  # the same tree without any bytecode (what a zip without .pyc costs)

    @property
    def ratio(self) -> float:
        return self.deployed_seconds / self.compiled_seconds

    def summary(self) -> str:
        line = (f"import app, fastest of {self.runs} fresh processes: deployed package "
                f"{self.deployed_seconds * 1000:.0f} ms, same tree compiled as usual "
                f"{self.compiled_seconds * 1000:.0f} ms, ratio {self.ratio:.2f} (gate ≤ 1.25)")
        if self.source_seconds is not None:
            line += (f"; without bytecode {self.source_seconds * 1000:.0f} ms "
                     f"({self.source_seconds / self.compiled_seconds:.2f}×)")
        return line


def extract(zip_path: Path, target: Path) -> None:
    """As Lambda does: every entry, file times not kept (zipfile gives each file the time of extraction)."""
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(target)


def remove_bytecode(tree: Path) -> None:
    for cache in list(tree.rglob("__pycache__")):
        shutil.rmtree(cache)


def bytecode_files(tree: Path) -> set[Path]:
    return set(tree.rglob("*.pyc"))


def import_seconds(tree: Path) -> float:
    result = subprocess.run([sys.executable, "-I", "-S", "-B", "-c", IMPORT_PROBE], cwd=tree, env=PROBE_ENVIRONMENT,
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"`import app` failed in {tree}:\n{result.stderr[-3000:]}")
    return float(result.stdout.strip().splitlines()[-1])


def measure(zip_path: Path, runs: int, with_source: bool = False) -> ColdStart:
    """Fresh processes, one of each tree per round (so a busy moment hits all alike), after one warm-up round."""
    with tempfile.TemporaryDirectory(prefix="philatelic-cold-start-") as scratch:
        deployed, compiled, source = Path(scratch, "deployed"), Path(scratch, "compiled"), Path(scratch, "source")
        trees = [deployed, compiled, source] if with_source else [deployed, compiled]
        for tree in trees:
            extract(zip_path, tree)
        for tree in trees[1:]:
            remove_bytecode(tree)
        compileall.compile_dir(compiled, quiet=1, workers=1,
                               invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP)
        shipped = bytecode_files(deployed)
        times: dict[Path, list[float]] = {tree: [] for tree in trees}
        for round_number in range(runs + 1):
            for tree in trees:
                seconds = import_seconds(tree)
                if round_number:
                    times[tree].append(seconds)
        if bytecode_files(deployed) != shipped or bytecode_files(source):
            raise RuntimeError("an import wrote bytecode into a tree that must stay read-only")
        fastest = {tree: min(values) for tree, values in times.items()}
        return ColdStart(runs, fastest[deployed], fastest[compiled], fastest.get(source))
