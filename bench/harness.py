"""The benchmark harness: modes, devices, data, the memory guard, skips and value checks.

``KDECORE_BENCH=quick`` (default) runs CI-sized cases; ``KDECORE_BENCH=full`` every size of
bench/README.md. Dense peers hold m×n matrices: a size whose estimate exceeds the memory budget
is skipped with the estimate as the reason (recorded for RESULTS.md), never run into an
out-of-memory kill. Every implementation's first result is checked against kdecore's float64
torch backend (or, for the largest cases, against kdecore's own float32 result), so the
tables compare implementations of the same quantity.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable

import pytest
import torch
from impls import Impl, missing
from torch import Tensor

MODE = os.environ.get("KDECORE_BENCH", "quick").lower()
if MODE not in ("quick", "full"):
    raise pytest.UsageError(f"KDECORE_BENCH must be 'quick' or 'full', got {MODE!r}")
FULL = MODE == "full"

if FULL or os.environ.get("KDECORE_BENCH_COLD") == "1":
    # before pykeops is imported anywhere: every KeOps formula compiles in this run
    if "KEOPS_CACHE_FOLDER" not in os.environ:
        os.environ["KEOPS_CACHE_FOLDER"] = tempfile.mkdtemp(prefix="kdecore-bench-keops-")
        os.environ["KDECORE_BENCH_COLD_CACHE"] = "1"

#: devices measured in this run.
DEVICES = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]
#: seconds of steady-state rounds aimed at per benchmark (after the first call), and a cap.
ROUND_BUDGET_S = 8.0 if FULL else 1.0
MAX_ROUNDS = 10 if FULL else 3
#: dtype of the timed inputs (float32, the usual training dtype).
DTYPE = torch.float32
#: ``KDECORE_BENCH_THREADS``: PyTorch's intra-op threads (KeOps' OpenMP threads follow
#: ``OMP_NUM_THREADS``, which bench/make_results.py sets to the same value).
THREADS = os.environ.get("KDECORE_BENCH_THREADS")
if THREADS:
    torch.set_num_threads(int(THREADS))

#: skipped benchmarks with their reasons (written to $KDECORE_BENCH_SKIPS for RESULTS.md).
SKIPS: list[dict] = []


def sizes(quick, full):
    """The sizes of the current mode."""
    return full if FULL else quick


def memory_budget_bytes(device: str) -> int:
    """What a dense peer may hold: 40 % of the free memory of the device."""
    if device == "cuda":
        free, _ = torch.cuda.mem_get_info()
        return int(0.4 * free)
    with open("/proc/meminfo") as f:
        info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in f}
    return int(0.4 * info.get("MemAvailable", info["MemTotal"]))


def skip(info: dict, reason: str) -> None:
    """Skip this benchmark, recording why for RESULTS.md."""
    SKIPS.append({**info, "reason": reason})
    pytest.skip(reason)


def points(m: int, d: int, device: str, seed: int, shift: float = 0.0,
           whiten: bool = False) -> Tensor:
    """m standard normal points in R^d (+ shift); ``whiten`` makes their sample covariance
    exactly the identity (for SciPy's gaussian_kde, see impls.KDE)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(m, d, generator=g, dtype=torch.float64)
    if whiten:
        mean = x.mean(0)
        chol = torch.linalg.cholesky(torch.cov(x.T))
        x = torch.linalg.solve_triangular(chol, (x - mean).T, upper=False).T + mean
    return (x + shift).to(device=device, dtype=DTYPE)


def two_sample_cases(registry: dict[str, Impl], kernels, sizes):
    """Parametrize a two-sample benchmark over devices, kernels, sizes and implementations
    (implementations vary fastest, so each case's reference is computed once)."""

    def wrap(fn):
        for name, values in (("impl", list(registry)), ("n", sizes), ("kernel", kernels),
                             ("device", DEVICES)):
            fn = pytest.mark.parametrize(name, values)(fn)
        return fn

    return wrap


def two_samples(n: int, d: int, device: str, **extra) -> dict:
    """The case of a two-sample task: x ~ N(0, I), y ~ N(0.1, I), n points each in R^d, and
    the Gaussian bandwidth σ = √d (≈ the median heuristic: E‖x − y‖² ≈ 2d)."""
    return {"x": points(n, d, device, 0), "y": points(n, d, device, 1, 0.1), "m": n, "n": n,
            "sigma": d**0.5, **extra}


def run(measure, registry: dict[str, Impl], name: str, info: dict, case: dict,
        check: Callable[[Impl, object], None] | None, *, skip_reason: str | None = None) -> None:
    """Skip what cannot run (device, package, memory, or the caller's ``skip_reason``), then
    time ``registry[name]``."""
    impl = registry[name]
    info = {**info, "impl": name, "kind": impl.kind, "order": list(registry).index(name)}
    if info["device"] not in impl.devices:
        pytest.skip(f"{name} does not run on {info['device']}")
    if skip_reason is not None:
        skip(info, skip_reason)
    reason = missing(impl)
    if reason is not None:
        skip(info, reason)
    kernels = impl.extra.get("kernels")
    if kernels is not None and case.get("kernel") not in kernels:
        pytest.skip(f"{name} has no {case.get('kernel')} kernel")
    if impl.dense_bytes is not None:
        need, budget = impl.dense_bytes(case), memory_budget_bytes(info["device"])
        if need > budget:
            skip(info, f"out of memory: needs ≈ {need / 2**30:.1f} GiB of m×n matrices "
                       f"(budget {budget / 2**30:.1f} GiB = 40 % of free memory)")
    measure(impl.make(case), {**info, "keops": impl.keops},
            None if check is None else (lambda out: check(impl, out)))


def assert_close(out: Tensor, ref: Tensor, rtol: float, what: str) -> None:
    """max |out − ref| ≤ rtol · max |ref| (the implementations compute the same quantity)."""
    out, ref = out.double().cpu().reshape(ref.shape), ref.double().cpu()
    err = float((out - ref).abs().max())
    scale = float(ref.abs().max())
    assert err <= rtol * scale, f"{what}: max error {err:.3g} > {rtol:g} × {scale:.3g}"


_REFERENCES: dict[tuple, object] = {}


def reference(key: tuple, compute: Callable[[], object]):
    """A value shared by every implementation of one case (computed once)."""
    if key not in _REFERENCES:
        _REFERENCES.clear()  # cases run one after another: keep only the current one
        _REFERENCES[key] = compute()
    return _REFERENCES[key]
