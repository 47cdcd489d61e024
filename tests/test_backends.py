"""Backend conformance: every backend, every kernel family, every reduction of SPEC §2,
values and gradients against dense float64 formulas written in ``_dense.py``.

The same suite runs for ``torch`` (tiled, with tiles far smaller than the problem),
``triton`` (through the Triton interpreter on CPU; natively on a GPU) and ``keops``.

Tolerances (stated, not loosened to pass):
- float64 inputs: relative 1e-9 of the largest reference entry;
- float32 inputs: values 2e-5, gradients 2e-4, relative to the largest reference entry
  (the Triton issue's 1e-5 target is checked on sums in ``test_triton_precision``).
"""

from __future__ import annotations

import pytest
import torch
from _dense import dist, distance, dot, laplacian, poly, rbf, rq, sqdist
from conftest import require_backend

import kdecore as kd

BACKENDS = ["torch", "triton", "keops"]

#: (id, kernel factory, dense reference, positive kernel?)
CASES = [
    ("rbf", lambda: kd.RBF(1.7), lambda x, y: rbf(x, y, 1.7), True),
    ("rbf-mix", lambda: kd.RBF((0.9, 2.0, 4.0), weights=(0.2, 0.3, 0.5)),
     lambda x, y: rbf(x, y, (0.9, 2.0, 4.0), (0.2, 0.3, 0.5)), True),
    ("laplacian", lambda: kd.Laplacian(1.3), lambda x, y: laplacian(x, y, 1.3), True),
    ("rq", lambda: kd.RQ(0.7, lengthscale=1.2), lambda x, y: rq(x, y, 0.7, 1.2), True),
    ("rq-mix", lambda: kd.kernel("rq-mix"), lambda x, y: rq(x, y, (0.2, 0.5, 1, 2, 5)), True),
    ("rq*", lambda: kd.kernel("rq*"),
     lambda x, y: rq(x, y, (0.2, 0.5, 1, 2, 5)) + dot(x, y), False),
    ("dot", lambda: kd.Dot(), dot, False),
    ("dist", lambda: kd.Distance(1.0), lambda x, y: distance(x, y, 1.0), False),
    ("dist-0.6", lambda: kd.Distance(0.6), lambda x, y: distance(x, y, 0.6), False),
    ("dist-free", lambda: kd.Distance(1.0, z0=None),
     lambda x, y: distance(x, y, 1.0, anchored=False), False),
    ("poly3", lambda: kd.Polynomial(3), lambda x, y: poly(x, y, 3), False),
    ("poly2", lambda: kd.Polynomial(2, gamma=0.3, coef0=0.5),
     lambda x, y: poly(x, y, 2, 0.3, 0.5), False),
    ("sum", lambda: 0.5 * kd.RBF(1.0) + 2.0 * kd.Laplacian(0.7),
     lambda x, y: 0.5 * rbf(x, y, 1.0) + 2.0 * laplacian(x, y, 0.7), True),
]
IDS = [c[0] for c in CASES]
POSITIVE = [c for c in CASES if c[3]]


def _data(dtype, m=37, n=29, d=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    # an offset from the origin exercises the centring (PERFORMANCE.md, "Cancellation")
    x = (torch.randn(m, d, generator=g, dtype=torch.float64) * 0.8 + 1.5).to(dtype)
    y = (torch.randn(n, d, generator=g, dtype=torch.float64) * 0.8 + 1.8).to(dtype)
    wx = torch.rand(m, generator=g, dtype=torch.float64).to(dtype)
    wy = torch.rand(n, generator=g, dtype=torch.float64).to(dtype)
    return x, y, wx, wy


def _device():
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def _tol(dtype, grad=False):
    return 1e-9 if dtype == torch.float64 else (2e-4 if grad else 2e-5)


def assert_rel(out, ref, tol, what):
    out = out.detach().double().cpu()
    ref = ref.detach().double().cpu()
    assert out.shape == ref.shape, f"{what}: shape {tuple(out.shape)} vs {tuple(ref.shape)}"
    scale = ref.abs().max().clamp_min(1e-30)
    err = float((out - ref).abs().max() / scale)
    assert err <= tol, f"{what}: relative error {err:.3g} > {tol:g}"


@pytest.fixture(params=BACKENDS)
def backend(request, small_tiles):
    require_backend(request.param)
    return request.param


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_sums_cross(backend, case, dtype):
    _, make, dense, _ = case
    x, y, wx, wy = (t.to(_device()) for t in _data(dtype))
    xr, yr, wxr, wyr = (t.double().cpu() for t in (x, y, wx, wy))
    k_ref = dense(xr, yr)
    s = kd.pairwise_sums(x, y, make(), x_weights=wx, y_weights=wy, rows=True, cols=True,
                         squares=True, backend=backend)
    tol = _tol(dtype)
    assert_rel(s.rows, k_ref @ wyr, tol, "rows")
    assert_rel(s.cols, wxr @ k_ref, tol, "cols")
    assert_rel(s.squares, (k_ref**2).sum(), tol, "squares")
    plain = kd.pairwise_sums(x, y, make(), backend=backend)
    assert_rel(plain.rows, k_ref.sum(1), tol, "unweighted rows")
    assert plain.cols is None and plain.squares is None


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_sums_within(backend, case, dtype):
    _, make, dense, _ = case
    x, _, wx, _ = (t.to(_device()) for t in _data(dtype))
    xr, wxr = x.double().cpu(), wx.double().cpu()
    k_ref = dense(xr, xr)
    k_ref = k_ref - torch.diag(torch.diagonal(k_ref))
    s = kd.pairwise_sums(x, None, make(), y_weights=wx, rows=True, squares=True,
                         backend=backend)
    tol = _tol(dtype)
    assert_rel(s.rows, k_ref @ wxr, tol, "within rows")
    assert_rel(s.squares, (k_ref**2).sum(), tol, "within squares")


def _grad_inputs(dtype):
    x, y, wx, wy = (t.to(_device()).requires_grad_() for t in _data(dtype, m=23, n=19))
    return x, y, wx, wy


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_sums_gradients(backend, case, dtype):
    """Gradients of a random combination of every output, w.r.t. points, weights and the
    kernel's tensors, against the dense float64 reference."""
    _, make, _, _ = case

    def run(bk, dt):
        x, y, wx, wy = _grad_inputs(dt)
        kern = make()
        params = [t.detach().clone().to(_device()).requires_grad_() for t in kern.tensors()]
        return x, y, wx, wy, kern.with_tensors(params), params

    cg = torch.Generator().manual_seed(2)
    coef = [torch.randn(23, generator=cg, dtype=torch.float64),
            torch.randn(19, generator=cg, dtype=torch.float64),
            torch.randn((), generator=cg, dtype=torch.float64),
            torch.randn(23, generator=cg, dtype=torch.float64),
            torch.randn((), generator=cg, dtype=torch.float64)]

    def objective(bk, x, y, wx, wy, k):
        s = kd.pairwise_sums(x, y, k, x_weights=wx, y_weights=wy, rows=True, cols=True,
                             squares=True, backend=bk)
        w = kd.pairwise_sums(x, None, k, y_weights=wx, rows=True, squares=True, backend=bk)
        outs = [s.rows, s.cols, s.squares, w.rows, w.squares]
        return sum((o.double().cpu() * c).sum() for o, c in zip(outs, coef, strict=True))

    x, y, wx, wy, k, params = run(backend, dtype)
    got = torch.autograd.grad(objective(backend, x, y, wx, wy, k), [x, y, wx, wy, *params],
                              allow_unused=True)
    # reference: the torch backend in float64 on the CPU (its own correctness is established
    # against the dense formulas by the value tests and by gradcheck in test_reductions.py)
    xr, yr, wxr, wyr = (t.detach().double().cpu().requires_grad_() for t in (x, y, wx, wy))
    pr = [p.detach().double().cpu().requires_grad_() for p in params]
    kr = k.with_tensors(pr)
    ref = torch.autograd.grad(objective("torch", xr, yr, wxr, wyr, kr), [xr, yr, wxr, wyr, *pr],
                              allow_unused=True)
    names = ["x", "y", "x_weights", "y_weights"] + [f"kernel tensor {i}" for i in range(len(pr))]
    for name, a, b in zip(names, got, ref, strict=True):
        if b is None or float(b.abs().max()) == 0.0:
            assert a is None or float(a.abs().max()) == 0.0, f"{name}: spurious gradient"
            continue
        assert a is not None, f"{name}: no gradient"
        assert_rel(a, b, _tol(dtype, grad=True), f"d/d{name}")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", POSITIVE, ids=[c[0] for c in POSITIVE])
def test_logsumexp(backend, case, dtype):
    _, make, dense, _ = case
    x, y, _, wy = (t.to(_device()) for t in _data(dtype))
    x = x * 3.0  # far-apart points: plain sums would underflow for the smaller kernels
    lw = torch.log(wy)
    xr, yr, lwr = x.double().cpu(), y.double().cpu(), lw.double().cpu()
    ref = torch.logsumexp(torch.log(dense(xr, yr)) + lwr[None, :], 1)
    out = kd.pairwise_logsumexp(x, y, make(), y_log_weights=lw, backend=backend)
    tol = _tol(dtype)
    assert_rel(out, ref, tol, "logsumexp")
    kxx = torch.log(dense(xr, xr))
    kxx.fill_diagonal_(float("-inf"))
    out_w = kd.pairwise_logsumexp(x, None, make(), backend=backend)
    assert_rel(out_w, torch.logsumexp(kxx, 1), tol, "within logsumexp")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_logsumexp_gradients(backend, dtype):
    x, y, _, wy = (t.to(_device()).requires_grad_() for t in _data(dtype, m=23, n=19))
    sigma = torch.tensor([0.8, 2.0], dtype=dtype, device=_device(), requires_grad=True)
    lw = torch.log(wy.detach()).requires_grad_()
    cg = torch.Generator().manual_seed(3)
    c1 = torch.randn(23, generator=cg, dtype=torch.float64)
    c2 = torch.randn(23, generator=cg, dtype=torch.float64)

    def objective(bk, x, y, lw, sigma):
        k = kd.RBF(sigma)
        a = kd.pairwise_logsumexp(x, y, k, y_log_weights=lw, backend=bk)
        b = kd.pairwise_logsumexp(x, None, k, backend=bk)
        return (a.double().cpu() * c1).sum() + (b.double().cpu() * c2).sum()

    got = torch.autograd.grad(objective(backend, x, y, lw, sigma), [x, y, lw, sigma])
    refs = [t.detach().double().cpu().requires_grad_() for t in (x, y, lw, sigma)]
    ref = torch.autograd.grad(objective("torch", *refs), refs)
    for name, a, b in zip(["x", "y", "log_weights", "sigma"], got, ref, strict=True):
        assert_rel(a, b, _tol(dtype, grad=True), f"d/d{name}")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_nearest(backend, dtype):
    x, y, _, _ = (t.to(_device()) for t in _data(dtype))
    xr, yr = x.double().cpu(), y.double().cpu()
    d_ref, i_ref = sqdist(xr, yr).min(1)
    dist_out, idx = kd.pairwise_nearest(x, y, backend=backend)
    assert torch.equal(idx.cpu(), i_ref)
    assert_rel(dist_out, d_ref.sqrt(), _tol(dtype), "nearest distance")
    dxx = dist(xr, xr)
    dxx.fill_diagonal_(float("inf"))
    dw, iw = dxx.min(1)
    dist_w, idx_w = kd.pairwise_nearest(x, None, backend=backend)
    assert torch.equal(idx_w.cpu(), iw)
    assert_rel(dist_w, dw, _tol(dtype), "within nearest distance")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_mmd_stats(backend, case):
    _, make, dense, _ = case
    x, y, _, _ = (t.to(_device()) for t in _data(torch.float64, m=31, n=31))
    xr, yr = x.cpu(), y.cpu()
    kxx, kyy, kxy = dense(xr, xr), dense(yr, yr), dense(xr, yr)
    kxx = kxx - torch.diag(torch.diagonal(kxx))
    kyy = kyy - torch.diag(torch.diagonal(kyy))
    s = kd.mmd_stats(x, y, make(), squares=True, backend=backend)
    tol = _tol(torch.float64)
    for name, out, ref in [("xx_rows", s.xx_rows, kxx.sum(1)), ("yy_rows", s.yy_rows, kyy.sum(1)),
                           ("xy_rows", s.xy_rows, kxy.sum(1)), ("xy_cols", s.xy_cols, kxy.sum(0)),
                           ("xx_squares", s.xx_squares, (kxx**2).sum()),
                           ("yy_squares", s.yy_squares, (kyy**2).sum()),
                           ("xy_squares", s.xy_squares, (kxy**2).sum())]:
        assert_rel(out, ref, tol, name)


def _grads_vs_reference(backend, dtype, objective, leaves):
    """Gradients of ``objective(backend, *leaves)`` against the torch backend in float64."""
    got = torch.autograd.grad(objective(backend, *leaves), leaves)
    refs = [t.detach().double().cpu().requires_grad_() for t in leaves]
    ref = torch.autograd.grad(objective("torch", *refs), refs)
    for i, (a, b) in enumerate(zip(got, ref, strict=True)):
        assert_rel(a, b, _tol(dtype, grad=True), f"d/d(input {i})")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_plain_sum_losses_backpropagate(backend, dtype):
    """``.sum()`` and ``.mean()`` losses hand the backward expanded (stride-0) gradients."""
    x, y, wx, wy = _grad_inputs(dtype)
    sigma = torch.tensor([0.9, 2.5], dtype=dtype, device=_device(), requires_grad=True)

    def objective(bk, x, y, wx, wy, sigma):
        k = kd.RBF(sigma) + kd.Dot()
        s = kd.pairwise_sums(x, y, k, x_weights=wx, y_weights=wy, rows=True, cols=True,
                             squares=True, backend=bk)
        w = kd.pairwise_sums(x, None, k, rows=True, backend=bk)
        lse = kd.pairwise_logsumexp(x, y, kd.RBF(sigma), backend=bk)
        return (s.rows.sum() + s.cols.mean() + s.squares + w.rows.sum()).double().cpu() + (
            lse.mean().double().cpu())

    _grads_vs_reference(backend, dtype, objective, [x, y, wx, wy, sigma])


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_mmd_and_variance_gradients(backend, dtype):
    """Through ``mmd_stats`` (fused on backends that have it): MMD² and its variance."""
    x, y, _, _ = _grad_inputs(dtype)
    x, y = x[:19].detach().requires_grad_(), y.detach().requires_grad_()
    alpha = torch.tensor([0.5, 2.0], dtype=dtype, device=_device(), requires_grad=True)

    def objective(bk, x, y, alpha):
        k = kd.RQ(alpha) + kd.Dot()
        mmd, var = kd.mmd2_variance(x, y, k, backend=bk)
        return (mmd + 10 * var).double().cpu() + kd.mmd2(x, y, k, backend=bk).double().cpu()

    _grads_vs_reference(backend, dtype, objective, [x, y, alpha])


def test_second_derivatives_are_exact_or_refused(backend):
    """create_graph=True (a gradient penalty): the torch backend gives the exact second
    derivative; a backend that differentiates once must raise, never return a detached
    gradient that silently drops it (the constant-cotangent case of ``once_differentiable``)."""
    x = _data(torch.float64, m=12)[0].to(_device()).requires_grad_()

    def penalty(bk):
        (g,) = torch.autograd.grad(kd.kernel_sum(x, x, kd.RBF(1.0), backend=bk).sum(), x,
                                   create_graph=True)
        return (g * g).sum()

    if backend != "torch":
        with pytest.raises(RuntimeError, match=rf"the {backend} backend differentiates once"
                                               r".*backend='torch'"):
            penalty(backend)
        (g,) = torch.autograd.grad(kd.kernel_sum(x, x, kd.RBF(1.0), backend=backend).sum(), x)
        assert torch.isfinite(g).all() and not g.requires_grad
        return
    (h,) = torch.autograd.grad(penalty("torch"), x)
    xr = x.detach().requires_grad_()
    (gd,) = torch.autograd.grad(rbf(xr, xr, 1.0).sum(), xr, create_graph=True)
    (hd,) = torch.autograd.grad((gd * gd).sum(), xr)
    assert_rel(h, hd, 1e-10, "second derivative")
