"""Property tests (hypothesis) over shapes, kernel parameters, dtypes and tilings."""

from __future__ import annotations

import torch
from _dense import distance, dot, laplacian, poly, rbf, rq
from hypothesis import given, settings
from hypothesis import strategies as st

import kdecore as kd

DTYPES = {"f64": (torch.float64, 1e-10), "f32": (torch.float32, 1e-4),
          "f16": (torch.float16, 1e-4), "bf16": (torch.bfloat16, 1e-4)}

pos = st.floats(0.2, 5.0)


@st.composite
def kernels(draw):
    """(kernel, dense float64 formula) with drawn parameters."""
    fam = draw(st.sampled_from(["rbf", "laplacian", "rq", "dot", "distance", "poly", "sum"]))
    if fam == "rbf":
        s = draw(st.lists(pos, min_size=1, max_size=3))
        return kd.RBF(s), lambda x, y: rbf(x, y, s)
    if fam == "laplacian":
        s = draw(pos)
        return kd.Laplacian(s), lambda x, y: laplacian(x, y, s)
    if fam == "rq":
        a, ell = draw(st.lists(pos, min_size=1, max_size=3)), draw(pos)
        return kd.RQ(a, lengthscale=ell), lambda x, y: rq(x, y, a, ell)
    if fam == "dot":
        return kd.Dot(), dot
    if fam == "distance":
        b = draw(st.floats(0.3, 2.0))
        return kd.Distance(b), lambda x, y: distance(x, y, b)
    if fam == "poly":
        p, g, c = draw(st.integers(1, 4)), draw(pos), draw(st.floats(-1.0, 2.0))
        return kd.Polynomial(p, gamma=g, coef0=c), lambda x, y: poly(x, y, p, g, c)
    c = draw(st.floats(0.1, 3.0))
    return c * kd.RBF(1.0) + kd.Dot(), lambda x, y: c * rbf(x, y, 1.0) + dot(x, y)


@settings(max_examples=60, deadline=None)
@given(m=st.integers(1, 25), n=st.integers(1, 25), d=st.integers(1, 6),
       tile=st.tuples(st.integers(1, 12), st.integers(1, 12)), kern=kernels(),
       dtype=st.sampled_from(sorted(DTYPES)), seed=st.integers(0, 2**16),
       scale=st.floats(0.1, 3.0), offset=st.floats(-5.0, 5.0))
def test_sums_match_dense(m, n, d, tile, kern, dtype, seed, scale, offset):
    k, dense = kern
    dt, tol = DTYPES[dtype]
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(m, d, generator=g, dtype=torch.float64) * scale + offset).to(dt)
    y = (torch.randn(n, d, generator=g, dtype=torch.float64) * scale + offset).to(dt)
    xr, yr = x.double(), y.double()  # the reference sees the same rounded inputs
    with kd.options(tile=tile):
        s = kd.pairwise_sums(x, y, k, rows=True, cols=True, squares=True)
        w = kd.pairwise_sums(x, None, k, squares=True)
    kxy = dense(xr, yr)
    kxx = dense(xr, xr)
    kxx = kxx - torch.diag(torch.diagonal(kxx))
    for out, ref in ((s.rows, kxy.sum(1)), (s.cols, kxy.sum(0)), (s.squares, (kxy**2).sum()),
                     (w.rows, kxx.sum(1)), (w.squares, (kxx**2).sum())):
        assert out.dtype == (torch.float64 if dt == torch.float64 else torch.float32)
        err = (out.double() - ref).abs().max()
        bound = tol * max(1.0, float(kxy.abs().max() * max(m, n)), float(kxx.abs().max() * m))
        if ref.dim() == 0:
            bound = tol * max(1.0, float((kxy**2).sum() + (kxx**2).sum()))
        assert float(err) <= bound, (float(err), bound)


@settings(max_examples=40, deadline=None)
@given(m=st.integers(2, 20), n=st.integers(2, 20), d=st.integers(1, 4),
       sigmas=st.lists(pos, min_size=1, max_size=4), seed=st.integers(0, 2**16),
       shift=st.floats(0.0, 2.0))
def test_biased_mmd_is_nonnegative_and_unbiased_is_below_it_shifted(m, n, d, sigmas, seed,
                                                                      shift):
    """For a positive definite kernel the V-statistic is a squared RKHS norm: ≥ 0."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(m, d, generator=g, dtype=torch.float64)
    y = torch.randn(n, d, generator=g, dtype=torch.float64) + shift
    k = kd.RBF(sigmas)
    assert float(kd.mmd2(x, y, k, estimator="biased")) >= -1e-12
    assert torch.isfinite(kd.mmd2(x, y, k))


@settings(max_examples=40, deadline=None)
@given(m=st.integers(2, 30), d=st.integers(1, 5), seed=st.integers(0, 2**16),
       tile=st.tuples(st.integers(1, 9), st.integers(1, 9)))
def test_nearest_matches_brute_force(m, d, seed, tile):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(m, d, generator=g, dtype=torch.float64)
    y = torch.randn(m + 3, d, generator=g, dtype=torch.float64)
    with kd.options(tile=tile):
        dist, idx = kd.pairwise_nearest(x, y)
        dist_w, idx_w = kd.pairwise_nearest(x)
    full = torch.cdist(x, y)
    torch.testing.assert_close(dist, full.min(1).values)
    assert torch.equal(full[torch.arange(m), idx], full.min(1).values)
    self_d = torch.cdist(x, x)
    self_d.fill_diagonal_(float("inf"))
    torch.testing.assert_close(dist_w, self_d.min(1).values)
    assert (idx_w != torch.arange(m)).all()
