"""pytest set-up of the benchmark suite (pytest-benchmark); the shared logic is in
:mod:`harness`.

Modes (environment variable ``KDECORE_BENCH``): ``quick`` (default; CI-sized) or ``full``
(every size; for explicit runs, ``python bench/make_results.py --mode full``). In full mode (or
with ``KDECORE_BENCH_COLD=1``) KeOps compiles into a fresh cache folder, so the first call of
every KeOps-based implementation includes its real compile; that first call is recorded apart
(``extra_info["first_call_s"]``) from the steady-state rounds.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable

import harness
import pytest
import torch


def pytest_benchmark_update_machine_info(config, machine_info):
    """Versions and the machine's state, for the header of RESULTS.md."""
    import importlib.metadata as md

    versions = {}
    for pkg in ("torch", "pykeops", "geomloss", "scikit-learn", "scipy", "torchmetrics",
                "triton"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    machine_info["kdecore_bench"] = {
        "versions": versions, "torch_threads": torch.get_num_threads(),
        "omp_threads": os.environ.get("OMP_NUM_THREADS"), "loadavg_start": os.getloadavg(),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "mode": harness.MODE, "keops_cache_cold": os.environ.get("KDECORE_BENCH_COLD_CACHE") == "1",
    }


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("KDECORE_BENCH_SKIPS")
    if path:
        with open(path, "w") as f:
            json.dump(harness.SKIPS, f, indent=1)


@pytest.fixture
def measure(benchmark):
    """``measure(fn, info, check=None)``: time ``fn`` — its first call apart (KeOps compiles
    there), then steady-state rounds — and record ``info`` for RESULTS.md. ``check(out)``
    validates the first call's result (the implementations must compute the same quantity);
    a dict it returns (e.g. the largest error) is recorded too.
    ``info["once"]`` marks cases too slow to run twice: one timed call, no separate first."""

    def run(fn: Callable[[], object], info: dict, check: Callable[[object], None] | None = None):
        device = info["device"]

        def timed():
            out = fn()
            if device == "cuda":
                torch.cuda.synchronize()
            return out

        benchmark.extra_info.update(info)
        benchmark.extra_info["mode"] = harness.MODE
        benchmark.group = info["table"]
        if info.get("once"):
            out = benchmark.pedantic(timed, rounds=1, iterations=1, warmup_rounds=0)
            benchmark.extra_info["first_call_s"] = benchmark.stats.stats.max
            if check is not None:
                benchmark.extra_info.update(check(out) or {})
            return
        start = time.perf_counter()
        out = timed()
        first = time.perf_counter() - start
        if check is not None:
            benchmark.extra_info.update(check(out) or {})
        del out
        rounds = max(1, min(harness.MAX_ROUNDS, int(harness.ROUND_BUDGET_S / max(first, 1e-3))))
        benchmark.extra_info["first_call_s"] = first
        benchmark.pedantic(timed, rounds=rounds, iterations=1, warmup_rounds=0)

    return run
