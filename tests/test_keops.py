"""The KeOps backend beyond the conformance suite of ``test_backends.py``: availability and its
error messages, compile caching, the exact skipping of the within-set diagonal, log-domain
edge cases, the ctypes CPU binder, and the estimators run end to end on it.

Kernels and the feature dimension (d = 5) match ``test_backends.py`` where possible, so the
formulas compiled there are reused (KeOps caches them on disk).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import torch
from _dense import dist, rbf, sqdist
from conftest import require_backend
from test_backends import assert_rel

import kdecore as kd

pytestmark = pytest.mark.usefixtures("keops")


@pytest.fixture
def keops():
    require_backend("keops")


def _points(m, d=5, seed=0, scale=0.8, shift=1.5, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(m, d, generator=g, dtype=torch.float64) * scale + shift).to(dtype)


def _run(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env={**os.environ, **env}, timeout=300, check=False)


# -- availability -------------------------------------------------------------------------------

PROBE = """
    import torch, kdecore as kd
    status = kd.backend_status()["keops"]
    assert status is not None and "keops" not in kd.available_backends(), status
    try:
        kd.kernel_sum(torch.zeros(2, 1), torch.zeros(3, 1), "rbf", backend="keops")
    except kd.BackendUnavailableError as exc:
        print("ERROR:", exc)
    else:
        raise SystemExit("asking for keops did not fail")
"""


def test_missing_pykeops_is_reported(tmp_path):
    fake = tmp_path / "pykeops"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('No module named pykeops (simulated)')")
    res = _run(PROBE, {"PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"})
    assert res.returncode == 0, res.stderr[-3000:]
    assert "pykeops is not installed" in res.stdout and "simulated" in res.stdout, res.stdout


def test_failed_compiler_check_is_reported(tmp_path):
    """A compiler that cannot build the test formula makes the backend unavailable, with the
    reason, after trying both binders (fresh cache, so nothing is loaded from disk)."""
    res = _run(PROBE, {"KEOPS_CACHE_FOLDER": str(tmp_path / "cache"), "CXX": "false"})
    assert res.returncode == 0, res.stderr[-3000:]
    assert "compiler check failed" in res.stdout, res.stdout


def test_device_reason():
    from kdecore._kernels import keops

    assert keops.device_reason(torch.device("cpu")) is None
    assert "mps" in keops.device_reason(torch.device("mps"))


# -- compile once, reuse -------------------------------------------------------------------------

def test_parameters_do_not_recompile():
    """Formulas depend on the kernel's structure only: new parameter values, weights, sizes and
    the dtype (the CPU runs every formula in float64) reuse the compiled code."""
    from kdecore._kernels.keops import runtime

    x, y = _points(37), _points(29, seed=1)
    kd.pairwise_sums(x, y, kd.RBF(1.7), backend="keops")
    before = set(runtime.FIRST_CALLS)
    for sigma in (0.3, 2.0, torch.tensor(5.0)):
        kd.pairwise_sums(x[:11].float(), y.float(), kd.RBF(sigma, scale=3.0), backend="keops")
        kd.pairwise_sums(x, y[:7], kd.RBF(sigma, weights=2.0), backend="keops")
    assert set(runtime.FIRST_CALLS) == before


def test_binder_is_scoped():
    """The ctypes binder replaces pykeops' CPU binder only inside this backend's calls."""
    from pykeops.common.keops_io import keops_binder

    saved = keops_binder["cpp"]
    kd.kernel_sum(_points(5), _points(4, seed=1), "rbf", backend="keops")
    assert keops_binder["cpp"] is saved


# -- the within-set diagonal ---------------------------------------------------------------------

def test_within_far_apart_is_exact():
    """Points far apart: the off-diagonal sums (≈ e⁻⁵⁰) are far below the skipped diagonal
    (1); subtracting k(x_i, x_i) would leave nothing, skipping it keeps full precision."""
    x = torch.arange(12, dtype=torch.float64).reshape(-1, 1) * 10.0
    ref = rbf(x, x, 1.0) - torch.eye(12, dtype=torch.float64)
    s = kd.pairwise_sums(x, None, kd.RBF(1.0), squares=True, backend="keops")
    assert_rel(s.rows, ref.sum(1), 1e-12, "rows")
    assert_rel(s.squares, (ref**2).sum(), 1e-12, "squares")


def test_within_ids_beyond_one_block():
    """More points than one id block (4096), with exact duplicates: only j = i is skipped."""
    x = _points(4200, d=2)
    x[4150] = x[3]
    x[4199] = x[4100]
    k = kd.RBF(0.7)
    got = kd.pairwise_sums(x, None, k, backend="keops").rows
    ref = kd.pairwise_sums(x, None, k, backend="torch").rows
    assert_rel(got, ref, 1e-9, "rows")
    d_got, i_got = kd.pairwise_nearest(x, backend="keops")
    assert float(d_got[3]) == 0.0 and int(i_got[3]) == 4150
    assert float(d_got[4100]) == 0.0 and int(i_got[4100]) == 4199


# -- log domain ---------------------------------------------------------------------------------

def test_logsumexp_edge_cases():
    x, y = _points(13), _points(9, seed=1)
    k = kd.RBF(0.5)
    lw = torch.log(torch.rand(9, dtype=torch.float64, generator=torch.Generator().manual_seed(3)))
    lw[[2, 5]] = float("-inf")  # dropped points
    keep = torch.isfinite(lw)
    ref = torch.logsumexp(-sqdist(x, y[keep]) / (2 * 0.5**2) + lw[keep], 1)
    assert_rel(kd.pairwise_logsumexp(x, y, k, y_log_weights=lw, backend="keops"), ref, 1e-12,
               "dropped points")
    far = torch.full((1, 5), 1e3, dtype=torch.float64)
    out = kd.pairwise_logsumexp(far, y, k, backend="keops")
    assert torch.isfinite(out).all() and float(out) < -1e6
    lone = kd.pairwise_logsumexp(x[:1], None, k, backend="keops")
    assert lone.item() == float("-inf")  # nothing left after skipping j = i


def test_logsumexp_within_weighted_gradients():
    x = _points(17).requires_grad_()
    lw = torch.randn(17, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    lw.requires_grad_()
    c = torch.randn(17, dtype=torch.float64, generator=torch.Generator().manual_seed(5))

    def grads(backend):
        out = kd.pairwise_logsumexp(x, None, kd.RBF(1.7), y_log_weights=lw, backend=backend)
        return torch.autograd.grad((out * c).sum(), [x, lw])

    for name, a, b in zip(["x", "log_weights"], grads("keops"), grads("torch"), strict=True):
        assert_rel(a, b, 1e-9, f"d/d{name}")


def test_nearest_matches_dense_distances():
    x, y = _points(23), _points(31, seed=1)
    d_out, idx = kd.pairwise_nearest(x, y, backend="keops")
    ref, ref_idx = dist(x, y).min(1)
    assert torch.equal(idx, ref_idx)
    assert_rel(d_out, ref, 1e-12, "distances")


# -- estimators end to end -------------------------------------------------------------------------

ESTIMATORS = {
    "mmd2-unbiased": lambda x, y, b: kd.mmd2(x, y, kd.RBF(1.7), backend=b),
    "mmd2-biased": lambda x, y, b: kd.mmd2(x, y, kd.RBF(1.7), estimator="biased", backend=b),
    "mmd2-variance": lambda x, y, b: torch.stack(kd.mmd2_variance(x, y, "rq*", backend=b)),
    "energy": lambda x, y, b: kd.energy_distance(x, y, backend=b),
    "kid-full": lambda x, y, b: torch.stack(kd.kid(x, y, subsets=None, backend=b)),
    "kid-subsets": lambda x, y, b: torch.stack(kd.kid(
        x, y, subsets=3, subset_size=10, generator=torch.Generator().manual_seed(0),
        backend=b)),
    "log-kde": lambda x, y, b: kd.kde(x, y, 0.9, log=True, backend=b),
    "kde": lambda x, y, b: kd.kde(x, y, 0.9, backend=b),
    "kernel-gan": lambda x, y, b: torch.stack(kd.kernel_gan_objective(
        x, y, 0.9, exclude_self=True, backend=b)),
    "relative-test": lambda x, y, b: torch.stack(kd.relative_mmd_test(
        x, y, y + 0.1, kd.RBF(1.7), backend=b)),
}


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_estimators_match_torch(name):
    x, y = _points(31), _points(31, seed=1, shift=1.8)
    fn = ESTIMATORS[name]
    assert_rel(fn(x, y, "keops"), fn(x, y, "torch"), 1e-9, name)


def test_mmd_gradients_match_torch():
    """Backward of MMD² w.r.t. both sets and a learned bandwidth (float32 in, float64 inside)."""
    x, y = _points(31, dtype=torch.float32), _points(29, seed=1, shift=1.8, dtype=torch.float32)

    def grads(backend):
        leaves = [x.clone().requires_grad_(), y.clone().requires_grad_(),
                  torch.tensor([1.0, 2.5], requires_grad=True)]
        out = kd.mmd2(leaves[0], leaves[1], kd.RBF(leaves[2]), backend=backend)
        return torch.autograd.grad(out, leaves)

    for name, a, b in zip(["x", "y", "sigma"], grads("keops"), grads("torch"), strict=True):
        assert_rel(a, b, 2e-4, f"d/d{name}")
