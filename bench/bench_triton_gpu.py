"""GPU benchmarks of the Triton backend (issue 3), beside KeOps and dense PyTorch in one run.

- Gaussian kernel sums R_i = Σ_j k(x_i, y_j) at d ∈ {2, 16, 64}, m = n ∈ {1e4, 1e5, 1e6}:
  evaluations (pairs) per second and the fraction of the H100's exponential limit
  (≈ 3.9e12 exp/s, PERFORMANCE.md: one exp per pair bounds any implementation).
- The backward of that sum (gradient w.r.t. x, and w.r.t. x and y) against its forward, at
  d = 16, m = n = 1e6 (target: backward ≤ 2.5 × forward).
- The full unbiased KID at 50 000 × 50 000 × 2048 (polynomial kernel, MMD²_u): time, useful
  TFLOP/s against the TF32 tensor-core peak, and its deviation from a float64 reference, in
  each precision mode of the Triton backend.

Targets (H100, float32): RBF d = 16, m = n = 1e6 ≥ 2.5e12 evals/s and ≥ 5× KeOps; backward ≤ 2.5×
forward; full KID ≤ 80 ms.

Run on a CUDA GPU (not collected by the test suite; skipped without a GPU):

    python -m pytest bench/bench_triton_gpu.py -q -p no:cacheprovider --benchmark-columns=median

Environment: ``KDECORE_BENCH_QUICK=1`` runs the smallest sizes only (a smoke run, ~1 min);
``KDECORE_BENCH_TABLE=path`` is where the markdown table for bench/RESULTS.md is written
(default ``triton_gpu_results.md`` in the working directory; it is also printed at the end).
First calls compile and autotune (warm-up rounds, not timed). KeOps compiles its formulas on
first use too (tens of seconds each).
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Callable

import pytest
import torch

import kdecore as kd

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(),
                                 reason="GPU benchmarks: no CUDA GPU is visible (run them on an "
                                        "H100; see the module docstring)")]

QUICK = os.environ.get("KDECORE_BENCH_QUICK", "") not in ("", "0")
#: H100 SXM limits (PERFORMANCE.md): exponentials per second, dense TF32 and BF16 tensor cores.
EXP_LIMIT = 3.9e12
TF32_PEAK = 495e12
BF16_PEAK = 989e12

RBF_D = (2, 16, 64)
RBF_N = (10_000,) if QUICK else (10_000, 100_000, 1_000_000)
BWD_N = 10_000 if QUICK else 1_000_000
KID_N, KID_D = (5_000, 2048) if QUICK else (50_000, 2048)
IMPLS = ("triton", "keops", "dense")


# -- timing and the results table ------------------------------------------------------------

def cuda_median(fn: Callable[[], object], rounds: int) -> float:
    """Median wall time of ``fn`` in seconds, by CUDA events, after one untimed warm-up."""
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(rounds):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    return statistics.median(times)


def measure(benchmark, fn: Callable[[], object], rounds: int) -> float:
    """Time with CUDA events and let pytest-benchmark record the same calls."""
    sec = cuda_median(fn, rounds)

    def synced():
        fn()
        torch.cuda.synchronize()

    benchmark.pedantic(synced, rounds=rounds, iterations=1, warmup_rounds=0)
    benchmark.extra_info["median_s_cuda_events"] = sec
    return sec


def rounds_for(pairs: float) -> int:
    return 3 if pairs >= 1e12 else 10


class Table:
    """Collects the measurements and writes the markdown table for bench/RESULTS.md."""

    def __init__(self) -> None:
        self.rbf: dict[tuple[int, int], dict[str, float | str]] = {}
        self.bwd: dict[str, dict[str, float | str]] = {}
        self.kid: dict[str, dict[str, float | str]] = {}

    @staticmethod
    def _ms(v: float | str | None) -> str:
        return v if isinstance(v, str) else ("—" if v is None else f"{v * 1e3:.4g}")

    def markdown(self) -> str:
        dev = torch.cuda.get_device_name()
        lines = [f"### Triton backend on {dev} (torch {torch.__version__})", "",
                 "Gaussian kernel row sums, float32, σ = √d/2, default precision (\"highest\"):",
                 "", "| d | m = n | triton ms | triton evals/s | % of exp limit | KeOps ms | "
                 "dense torch ms | triton ÷ KeOps |", "|---|---|---|---|---|---|---|---|"]
        for (d, n), row in sorted(self.rbf.items()):
            t, k, dn = row.get("triton"), row.get("keops"), row.get("dense")
            evals = n * n / t if isinstance(t, float) else None
            speed = (f"{k / t:.2f}×" if isinstance(t, float) and isinstance(k, float) else "—")
            lines.append(f"| {d} | {n:.0e} | {self._ms(t)} | "
                         f"{'—' if evals is None else f'{evals:.3g}'} | "
                         f"{'—' if evals is None else f'{100 * evals / EXP_LIMIT:.1f} %'} | "
                         f"{self._ms(k)} | {self._ms(dn)} | {speed} |")
        if self.bwd:
            lines += ["", f"Backward of Σ_j k(x_i, y_j), d = 16, m = n = {BWD_N:.0e}:", "",
                      "| what | triton ms | ÷ triton forward | KeOps ms |", "|---|---|---|---|"]
            fwd = self.bwd.get("forward", {}).get("triton")
            for what in ("forward", "backward (x)", "backward (x, y)"):
                row = self.bwd.get(what, {})
                t = row.get("triton")
                ratio = (f"{t / fwd:.2f}" if isinstance(t, float) and isinstance(fwd, float)
                         else "—")
                lines.append(f"| {what} | {self._ms(t)} | {ratio} | {self._ms(row.get('keops'))} |")
        if self.kid:
            flops = 2.0 * KID_D * (2 * KID_N) ** 2 / 2  # pooled upper triangle, 2 flops/MAC
            lines += ["", f"Full unbiased KID, {KID_N} × {KID_N} × {KID_D} (useful work "
                      f"{flops:.3g} FLOP; \"highest\" runs 3 TF32 products per MAC):", "",
                      "| implementation | ms | useful TFLOP/s | % of TF32 peak | KID | "
                      "abs. error vs float64 |", "|---|---|---|---|---|---|"]
            for impl, row in self.kid.items():
                t = row.get("time")
                tf = flops / t / 1e12 if isinstance(t, float) else None
                lines.append(
                    f"| {impl} | {self._ms(t)} | {'—' if tf is None else f'{tf:.1f}'} | "
                    f"{'—' if tf is None else f'{100 * tf * 1e12 / TF32_PEAK:.1f} %'} | "
                    f"{row.get('value', '—')} | {row.get('error', '—')} |")
        return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def table(request):
    t = Table()
    yield t
    text = t.markdown()
    path = os.environ.get("KDECORE_BENCH_TABLE", "triton_gpu_results.md")
    with open(path, "w") as f:
        f.write(text)
    reporter = request.config.pluginmanager.getplugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("")
        for line in text.splitlines():
            reporter.write_line(line)
        reporter.write_line(f"(written to {path})")


def _keops_lazy():
    try:
        from pykeops.torch import LazyTensor
    except Exception as exc:  # not installed, or no compiler: the table says so
        pytest.skip(f"KeOps unavailable: {type(exc).__name__}: {exc}")
    return LazyTensor


def _fits_dense(nbytes: float) -> str | None:
    free, _ = torch.cuda.mem_get_info()
    if nbytes > 0.45 * free:
        return f"dense needs {nbytes / 2**30:.0f} GiB (free {free / 2**30:.0f} GiB)"
    return None


# -- Gaussian kernel sums --------------------------------------------------------------------

def _points(n: int, d: int, seed: int) -> torch.Tensor:
    g = torch.Generator(device="cuda").manual_seed(seed)
    return torch.randn(n, d, generator=g, device="cuda")


def rbf_impl(impl: str, x: torch.Tensor, y: torch.Tensor, sigma: float) -> Callable[[], object]:
    if impl == "triton":
        k = kd.RBF(sigma)
        return lambda: kd.kernel_sum(x, y, k, backend="triton")
    if impl == "keops":
        lazy = _keops_lazy()
        x_i, y_j = lazy(x[:, None, :]), lazy(y[None, :, :])
        return lambda: (-((x_i - y_j) ** 2).sum(-1) / (2 * sigma**2)).exp().sum(1)
    reason = _fits_dense(3.0 * x.shape[0] * y.shape[0] * 4)
    if reason:
        pytest.skip(reason)
    return lambda: torch.exp(torch.cdist(x, y).square() * (-0.5 / sigma**2)).sum(1)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("n", RBF_N, ids=lambda n: f"n{n:.0e}")
@pytest.mark.parametrize("d", RBF_D, ids=lambda d: f"d{d}")
def test_rbf_sum(benchmark, table, impl, n, d):
    x, y = _points(n, d, 0), _points(n, d, 1)
    row = table.rbf.setdefault((d, n), {})
    try:
        fn = rbf_impl(impl, x, y, 0.5 * math.sqrt(d))
    except pytest.skip.Exception:
        row[impl] = "n/a"
        raise
    sec = measure(benchmark, fn, rounds_for(n * n))
    row[impl] = sec
    benchmark.extra_info.update(evals_per_s=n * n / sec, exp_limit_fraction=n * n / sec / EXP_LIMIT)
    if impl == "triton" and n <= 10_000:  # sanity: the timed computation is the right one
        ref = kd.kernel_sum(x.double(), y.double(), kd.RBF(0.5 * math.sqrt(d)), backend="torch")
        assert float(((fn() - ref).abs() / ref).max()) < 1e-5


# -- backward ---------------------------------------------------------------------------------

@pytest.mark.parametrize("impl", ("triton", "keops"))
@pytest.mark.parametrize("what", ("forward", "backward (x)", "backward (x, y)"))
def test_rbf_backward(benchmark, table, impl, what):
    d, n, sigma = 16, BWD_N, 2.0
    x, y = _points(n, d, 2), _points(n, d, 3)
    if impl == "triton":
        def total(a, b):
            return kd.kernel_sum(a, b, kd.RBF(sigma), backend="triton").sum()
    else:
        lazy = _keops_lazy()

        def total(a, b):
            a_i, b_j = lazy(a[:, None, :]), lazy(b[None, :, :])
            return (-((a_i - b_j) ** 2).sum(-1) / (2 * sigma**2)).exp().sum(1).sum()

    if what == "forward":
        def fn():
            return total(x, y)
    else:
        xg = x.clone().requires_grad_()
        yg = y.clone().requires_grad_(what == "backward (x, y)")
        inputs = [xg, yg] if yg.requires_grad else [xg]

        def fn():
            return torch.autograd.grad(total(xg, yg), inputs)

    sec = measure(benchmark, fn, rounds_for(n * n))
    if what != "forward":  # report the backward alone: (forward + backward) − forward
        fwd = table.bwd.get("forward", {}).get(impl)
        if isinstance(fwd, float):
            sec = sec - fwd
    table.bwd.setdefault(what, {})[impl] = sec


# -- full KID -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def kid_data():
    g = torch.Generator(device="cuda").manual_seed(4)
    # Inception pool features are non-negative with a common mean: a shifted ReLU sample
    fx = torch.relu(torch.randn(KID_N, KID_D, generator=g, device="cuda") + 0.5)
    fy = torch.relu(torch.randn(KID_N, KID_D, generator=g, device="cuda") * 1.05 + 0.45)
    ref = float(kd.mmd2(fx.double(), fy.double(), kd.Polynomial(3), backend="torch"))
    return fx, fy, ref


def _kid_keops(fx, fy):
    lazy = _keops_lazy()
    gamma = 1.0 / fx.shape[1]

    def total(a, b):
        return (((lazy(a[:, None, :]) | lazy(b[None, :, :])) * gamma + 1) ** 3).sum(1).sum()

    def diag(a):
        return ((a * a).sum(1) * gamma + 1).pow(3).sum()

    def run():
        m, n = fx.shape[0], fy.shape[0]
        return ((total(fx, fx) - diag(fx)) / (m * (m - 1)) + (total(fy, fy) - diag(fy))
                / (n * (n - 1)) - 2 * total(fx, fy) / (m * n))

    return run


def _kid_dense(fx, fy):
    reason = _fits_dense(2.0 * fx.shape[0] * fy.shape[0] * 4)
    if reason:
        pytest.skip(reason)
    gamma = 1.0 / fx.shape[1]

    def block(a, b, offdiag):
        k = (a @ b.T * gamma + 1).pow_(3)
        total = k.sum(dtype=torch.float64)
        return total - k.diagonal().sum(dtype=torch.float64) if offdiag else total

    def run():
        m, n = fx.shape[0], fy.shape[0]
        return (block(fx, fx, True) / (m * (m - 1)) + block(fy, fy, True) / (n * (n - 1))
                - 2 * block(fx, fy, False) / (m * n))

    return run


@pytest.mark.parametrize("impl", ("triton-highest", "triton-tf32", "triton-bf16", "keops",
                                  "dense"))
def test_kid_full(benchmark, table, kid_data, impl):
    fx, fy, ref = kid_data
    row = table.kid.setdefault(impl, {})
    if impl.startswith("triton"):
        from kdecore._kernels import triton as tk

        mode = impl.split("-")[1]

        def fn():
            with tk.precision(mode):
                return kd.mmd2(fx, fy, kd.Polynomial(3), backend="triton")
    else:
        try:
            fn = _kid_keops(fx, fy) if impl == "keops" else _kid_dense(fx, fy)
        except pytest.skip.Exception:
            row["time"] = "n/a"
            raise
    sec = measure(benchmark, fn, 1 if impl == "keops" else 3)
    value = float(fn())
    row.update(time=sec, value=f"{value:.6g}", error=f"{abs(value - ref):.2e}")
    benchmark.extra_info.update(kid=value, kid_f64=ref)
