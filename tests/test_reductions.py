"""The primitive (SPEC §2) on the tiled PyTorch backend: float64 gradcheck of every family and
reduction, first and second order; tiling invariance; log-domain stability."""

from __future__ import annotations

import pytest
import torch
from test_backends import CASES, IDS, POSITIVE
from torch.autograd import gradcheck, gradgradcheck

import kdecore as kd


def _leaves(m=6, n=5, d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    mk = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)  # noqa: E731
    x, y = mk(m, d) + 0.5, mk(n, d)
    wx = torch.rand(m, generator=g, dtype=torch.float64) + 0.1
    wy = torch.rand(n, generator=g, dtype=torch.float64) + 0.1
    return [t.requires_grad_() for t in (x, y, wx, wy)]


def _kernel_leaves(make):
    k = make()
    ts = [t.detach().clone().requires_grad_() for t in k.tensors()]
    return k, ts


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradcheck_sums(case, small_tiles):
    """First and second derivatives w.r.t. points, weights and every kernel tensor."""
    k, ts = _kernel_leaves(case[1])
    x, y, wx, wy = _leaves()

    def f(x, y, wx, wy, *ts):
        kk = k.with_tensors(ts)
        with kd.options(tile=(4, 3)):
            s = kd.pairwise_sums(x, y, kk, x_weights=wx, y_weights=wy, rows=True, cols=True,
                                 squares=True)
            w = kd.pairwise_sums(x, None, kk, y_weights=wx, squares=True)
        return s.rows, s.cols, s.squares, w.rows, w.squares

    assert gradcheck(f, (x, y, wx, wy, *ts))
    assert gradgradcheck(f, (x, y, wx, wy, *ts), fast_mode=True)


@pytest.mark.parametrize("case", POSITIVE, ids=[c[0] for c in POSITIVE])
def test_gradcheck_logsumexp(case):
    k, ts = _kernel_leaves(case[1])
    x, y, _, wy = _leaves()
    lw = torch.log(wy.detach()).requires_grad_()

    def f(x, y, lw, *ts):
        kk = k.with_tensors(ts)
        with kd.options(tile=(4, 3)):
            return (kd.pairwise_logsumexp(x, y, kk, y_log_weights=lw),
                    kd.pairwise_logsumexp(x, None, kk))

    assert gradcheck(f, (x, y, lw, *ts), fast_mode=True)


def test_gradcheck_nearest_distance():
    x, y, _, _ = _leaves()
    assert gradcheck(lambda x, y: kd.pairwise_nearest(x, y)[0], (x, y))
    assert gradcheck(lambda x: kd.pairwise_nearest(x)[0], (x,))


@pytest.mark.parametrize("tile", [(1, 1), (3, 5), (7, 2), (64, 64)])
def test_results_do_not_depend_on_the_tiling(tile):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(23, 4, generator=g, dtype=torch.float64)
    y = torch.randn(17, 4, generator=g, dtype=torch.float64)
    k = kd.kernel("rq*")
    ref = kd.pairwise_sums(x, y, k, rows=True, cols=True, squares=True)
    ref_w = kd.pairwise_sums(x, None, k, squares=True)
    ref_l = kd.pairwise_logsumexp(x, None, kd.RBF(0.3))
    ref_n = kd.pairwise_nearest(x)
    with kd.options(tile=tile):
        s = kd.pairwise_sums(x, y, k, rows=True, cols=True, squares=True)
        w = kd.pairwise_sums(x, None, k, squares=True)
        lse = kd.pairwise_logsumexp(x, None, kd.RBF(0.3))
        near = kd.pairwise_nearest(x)
    for a, b in zip((*s, *w[::2], lse, *near), (*ref, *ref_w[::2], ref_l, *ref_n), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_logsumexp_is_finite_where_the_sum_underflows():
    x = torch.tensor([[0.0], [40.0]], dtype=torch.float32)
    y = torch.zeros(5, 1)
    k = kd.RBF(0.5)
    assert kd.kernel_sum(x, y, k)[1] == 0.0  # exp(-3200) underflows in any float
    lse = kd.pairwise_logsumexp(x, y, k)
    torch.testing.assert_close(lse, torch.tensor([torch.log(torch.tensor(5.0)).item(),
                                                  -3200.0 + torch.log(torch.tensor(5.)).item()]))
    lkde = kd.kde(x, y, 0.5, log=True)
    assert torch.isfinite(lkde).all() and lkde[1] < -3000


def test_zero_weights_drop_points_from_logsumexp():
    x = torch.randn(4, 2, dtype=torch.float64)
    y = torch.randn(6, 2, dtype=torch.float64)
    lw = torch.tensor([0.0, float("-inf"), 0.0, float("-inf"), 0.0, 0.0], dtype=torch.float64)
    got = kd.pairwise_logsumexp(x, y, kd.RBF(1.0), y_log_weights=lw)
    keep = torch.isfinite(lw)
    torch.testing.assert_close(got, kd.pairwise_logsumexp(x, y[keep], kd.RBF(1.0)))


def test_within_set_sums_skip_the_diagonal_and_match_cross_minus_diagonal():
    x = torch.randn(30, 3, dtype=torch.float64)
    k = kd.kernel("rbf-mix")
    with kd.options(tile=(7, 7)):
        within = kd.pairwise_sums(x, None, k, squares=True)
        cross = kd.pairwise_sums(x, x, k, squares=True)
    torch.testing.assert_close(within.rows, cross.rows - 6.0)  # k(x, x) = 6 bandwidths × 1
    torch.testing.assert_close(within.squares, cross.squares - 30 * 36.0)


def test_results_stay_on_the_input_device_and_dtype():
    x, y = torch.randn(5, 2), torch.randn(4, 2)
    s = kd.pairwise_sums(x, y, "rbf", rows=True, cols=True, squares=True)
    assert all(t.dtype == torch.float32 and t.device == x.device for t in s)
    d, i = kd.pairwise_nearest(x, y)
    assert d.dtype == torch.float32 and i.dtype == torch.long


def test_kernel_parameter_gradient_matches_dense():
    """d/dσ through the tiled backward equals autograd on the dense matrix."""
    x, y = torch.randn(40, 3, dtype=torch.float64), torch.randn(30, 3, dtype=torch.float64)
    sigma = torch.tensor([0.7, 1.9], dtype=torch.float64, requires_grad=True)
    with kd.options(tile=(8, 8)):
        (g,) = torch.autograd.grad(kd.mmd2(x, y, kd.RBF(sigma)), sigma)
    s2 = sigma.detach().clone().requires_grad_()
    k = kd.RBF(s2)
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    dense = ((kxx.sum() - kxx.diagonal().sum()) / (40 * 39)
             + (kyy.sum() - kyy.diagonal().sum()) / (30 * 29) - 2 * kxy.mean())
    (g_ref,) = torch.autograd.grad(dense, s2)
    torch.testing.assert_close(g, g_ref)
