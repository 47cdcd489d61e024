"""Estimators (SPEC §3–4) against dense float64 implementations written in the tests, float64
gradcheck of every kernel family × estimator, and statistical properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from _dense import (
    gaussian_log_kde,
    mmd2_biased,
    mmd2_unbiased,
    mmd2_variance,
    poly,
    relative_test,
    sqdist,
)
from test_backends import CASES, IDS
from torch.autograd import gradcheck

import kdecore as kd


def sample(n, d=3, shift=0.0, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=dtype) + shift


@pytest.fixture
def xyz():
    return sample(26, seed=1), sample(26, shift=0.4, seed=2), sample(22, shift=0.8, seed=3)


# -- values against the dense formulas -----------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_mmd2_estimators_match_dense(case, xyz, small_tiles):
    _, make, dense, _ = case
    x, y, _ = xyz
    kxx, kyy, kxy = dense(x, x), dense(y, y), dense(x, y)
    k = make()
    torch.testing.assert_close(kd.mmd2(x, y, k), mmd2_unbiased(kxx, kyy, kxy))
    torch.testing.assert_close(kd.mmd2(x, y, k, estimator="biased"), mmd2_biased(kxx, kyy, kxy))
    h = (torch.diagonal(dense(x[0::2], x[1::2])) + torch.diagonal(dense(y[0::2], y[1::2]))
         - torch.diagonal(dense(x[0::2], y[1::2])) - torch.diagonal(dense(x[1::2], y[0::2])))
    torch.testing.assert_close(kd.mmd2(x, y, k, estimator="linear"), h.mean())


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_variance_matches_dense(case, xyz, small_tiles):
    _, make, dense, _ = case
    x, y, _ = xyz
    mmd, var = kd.mmd2_variance(x, y, make())
    torch.testing.assert_close(mmd, mmd2_unbiased(dense(x, x), dense(y, y), dense(x, y)))
    torch.testing.assert_close(var, mmd2_variance(dense(x, x), dense(y, y), dense(x, y)))


def test_variance_estimates_the_spread_of_mmd2():
    """Averaged over draws, the variance estimate ≈ the empirical variance of MMD²_u."""
    k = kd.RBF(1.0)
    mmds, vars_ = [], []
    for s in range(300):
        x, y = sample(24, d=2, seed=2 * s), sample(24, d=2, shift=0.5, seed=2 * s + 1)
        m, v = kd.mmd2_variance(x, y, k)
        mmds.append(float(m))
        vars_.append(float(v))
    emp, est = np.var(mmds, ddof=1), np.mean(vars_)
    assert abs(est - emp) / emp < 0.25, (est, emp)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_witness_matches_dense(case, xyz):
    _, make, dense, _ = case
    x, y, t = xyz
    torch.testing.assert_close(kd.witness(t, x, y, make()),
                               dense(t, x).mean(1) - dense(t, y).mean(1))


def test_energy_distance_identity(xyz):
    """MMD²_u with the distance kernel = E‖X−Y‖^β − ½E‖X−X'‖^β − ½E‖Y−Y'‖^β (SPEC §1)."""
    x, y, _ = xyz
    for beta in (1.0, 0.5, 1.7):
        dxy = sqdist(x, y).sqrt() ** beta
        dxx = sqdist(x, x).sqrt() ** beta
        dyy = sqdist(y, y).sqrt() ** beta
        m, n = len(x), len(y)
        ref = dxy.mean() - 0.5 * dxx.sum() / (m * (m - 1)) - 0.5 * dyy.sum() / (n * (n - 1))
        torch.testing.assert_close(kd.energy_distance(x, y, beta), ref)
        torch.testing.assert_close(kd.mmd2(x, y, kd.Distance(beta)), ref)


def test_relative_test_matches_dense(xyz, small_tiles):
    x, y, z = xyz
    k = kd.RBF(1.3)
    p_ref, t_ref = relative_test(*(k(a, b) for a, b in ((x, x), (y, y), (z, z), (x, y), (x, z))))
    p, t = kd.relative_mmd_test(x, y, z, k)
    torch.testing.assert_close(t, t_ref)
    assert abs(float(p) - p_ref) < 1e-12


def test_relative_test_detects_the_closer_sample():
    x = sample(300, d=2, seed=10)
    near, far = sample(300, d=2, shift=0.1, seed=11), sample(300, d=2, shift=1.0, seed=12)
    p, t = kd.relative_mmd_test(x, far, near, kd.RBF(1.0))
    assert t > 0 and p < 1e-3
    p2, _ = kd.relative_mmd_test(x, near, far, kd.RBF(1.0))
    assert p2 > 0.99


def test_kid_subsets_match_dense():
    fx, fy = sample(80, d=16, seed=4), sample(70, d=16, shift=0.2, seed=5)
    mean, std = kd.kid(fx, fy, subsets=7, subset_size=30,
                       generator=torch.Generator().manual_seed(3))
    g = torch.Generator().manual_seed(3)
    vals = []
    for _ in range(7):
        ix = torch.randperm(80, generator=g)[:30]
        iy = torch.randperm(70, generator=g)[:30]
        a, b = fx[ix], fy[iy]
        vals.append(mmd2_unbiased(poly(a, a), poly(b, b), poly(a, b)))
    vals = torch.stack(vals)
    torch.testing.assert_close(mean, vals.mean())
    torch.testing.assert_close(std, vals.std(unbiased=False))


def test_kid_full_estimator_and_its_std():
    fx, fy = sample(40, d=8, seed=6), sample(40, d=8, shift=0.3, seed=7)
    mean, std = kd.kid(fx, fy, subsets=None)
    px, py, pxy = poly(fx, fx), poly(fy, fy), poly(fx, fy)
    torch.testing.assert_close(mean, mmd2_unbiased(px, py, pxy))
    torch.testing.assert_close(std, mmd2_variance(px, py, pxy).sqrt())
    _, std_uneven = kd.kid(fx, fy[:30], subsets=None)
    assert torch.isnan(std_uneven)


def test_kde_matches_dense_and_scipy():
    from scipy.stats import gaussian_kde

    q, data = sample(15, d=2, seed=8), sample(60, d=2, seed=9)
    w = torch.rand(60, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) + 0.1
    for weights in (None, w):
        ref = gaussian_log_kde(q, data, 0.6, weights)
        torch.testing.assert_close(kd.kde(q, data, 0.6, weights=weights, log=True), ref)
        torch.testing.assert_close(kd.kde(q, data, 0.6, weights=weights), ref.exp())
    # SciPy in 1-D: bw_method = σ / std(data) makes its kernel's standard deviation σ
    q1, d1 = q[:, :1], data[:, :1]
    scipy_kde = gaussian_kde(d1.numpy().T, bw_method=0.6 / float(d1.std()))
    np.testing.assert_allclose(kd.kde(q1, d1, 0.6).numpy(), scipy_kde.evaluate(q1.numpy().T),
                               rtol=1e-10)


def test_kde_integrates_to_one():
    data = sample(30, d=1, seed=3)
    grid = torch.linspace(-8, 8, 4001, dtype=torch.float64)[:, None]
    dens = kd.kde(grid, data, 0.4)
    assert abs(float(torch.trapezoid(dens, grid[:, 0])) - 1.0) < 1e-8


def test_kde_ratio_and_kernel_gan_objective(small_tiles):
    q, p, r = sample(10, d=2, seed=1), sample(30, d=2, seed=2), sample(25, d=2, shift=1.0, seed=3)
    lp, lq = gaussian_log_kde(q, p, 0.7), gaussian_log_kde(q, r, 0.7)
    torch.testing.assert_close(kd.kde_ratio(q, p, r, 0.7), torch.sigmoid(lp - lq))
    phi = 0.05
    torch.testing.assert_close(kd.kde_ratio(q, p, r, 0.7, phi=phi),
                               (lp.exp() + phi) / (lp.exp() + lq.exp() + 2 * phi))
    kn, f, s = kd.kernel_gan_objective(p, r, 0.7, phi=phi)
    ref_f = torch.log((gaussian_log_kde(p, p, 0.7).exp() + phi)
                      / (gaussian_log_kde(p, p, 0.7).exp() + gaussian_log_kde(p, r, 0.7).exp()
                         + 2 * phi)).mean()
    ref_s = torch.log((gaussian_log_kde(r, r, 0.7).exp() + phi)
                      / (gaussian_log_kde(r, p, 0.7).exp() + gaussian_log_kde(r, r, 0.7).exp()
                         + 2 * phi)).mean()
    torch.testing.assert_close(f, ref_f)
    torch.testing.assert_close(s, ref_s)
    torch.testing.assert_close(kn, ref_f + ref_s)


def test_kernel_gan_leave_one_out():
    p, r = sample(12, d=2, seed=4), sample(9, d=2, seed=5)

    def loo(a):
        logk = -sqdist(a, a) / (2 * 0.5**2)
        logk.fill_diagonal_(float("-inf"))
        return torch.logsumexp(logk, 1) - math.log(len(a) - 1) - math.log(2 * math.pi * 0.25)

    lp_p, lq_r = loo(p), loo(r)
    lq_p, lp_r = gaussian_log_kde(p, r, 0.5), gaussian_log_kde(r, p, 0.5)
    _, f, s = kd.kernel_gan_objective(p, r, 0.5, exclude_self=True)
    torch.testing.assert_close(f, (-torch.nn.functional.softplus(lq_p - lp_p)).mean())
    torch.testing.assert_close(s, (-torch.nn.functional.softplus(lp_r - lq_r)).mean())


def test_kernel_gan_objective_tends_to_minus_log_4():
    """Two samples of one distribution (000 Table 1, "MNIST Test" row): K_n ≈ −log 4."""
    a, b = sample(1000, d=2, seed=20), sample(1000, d=2, seed=21)
    for exclude_self in (False, True):
        kn, f, s = kd.kernel_gan_objective(a, b, 0.3, exclude_self=exclude_self)
        assert abs(float(kn) + math.log(4)) < 0.05
        assert abs(float(f) + math.log(2)) < 0.03 and abs(float(s) + math.log(2)) < 0.03
    far = sample(1000, d=2, shift=2.0, seed=22)
    assert float(kd.kernel_gan_objective(a, far, 0.3)[0]) > -math.log(4) + 0.5


def test_kernel_gan_small_bandwidth_does_not_underflow():
    a, b = sample(50, d=8, seed=1), sample(50, d=8, shift=3.0, seed=2)
    kn, f, s = kd.kernel_gan_objective(a, b, 0.01)
    assert torch.isfinite(kn)
    # far apart: each KDE dominates on its own set, discriminator → 1, JSD terms → 0
    assert float(f) > -1e-6 and float(s) > -1e-6


def test_bandwidth_rules():
    x = sample(500, d=3, seed=3)
    y = sample(300, d=3, shift=1.0, seed=4)
    z = torch.cat([x, y])
    d2 = torch.pdist(z) ** 2
    torch.testing.assert_close(kd.bandwidth(x, y), torch.sqrt(torch.quantile(d2, 0.5) / 2))
    std = torch.sqrt(x.var(0).mean())
    torch.testing.assert_close(kd.bandwidth(x, rule="scott"), 500 ** (-1 / 7) * std)
    torch.testing.assert_close(kd.bandwidth(x, rule="silverman"),
                               (4 / 5) ** (1 / 7) * 500 ** (-1 / 7) * std)
    torch.testing.assert_close(kd.kde(x[:5], x, "scott"), kd.kde(x[:5], x, float(
        kd.bandwidth(x, rule="scott"))))


def test_median_bandwidth_subsamples_large_inputs_deterministically(monkeypatch):
    import importlib

    bw = importlib.import_module("kdecore.estimators.bandwidth")
    monkeypatch.setattr(bw, "MEDIAN_MAX_POINTS", 800)
    x = sample(5000, d=2, seed=1)
    a, b = kd.bandwidth(x), kd.bandwidth(x)
    assert float(a) == float(b)
    assert abs(float(a) - 1.18) < 0.1  # sqrt(median χ²₂·2 / 2) ≈ sqrt(2 ln 2) ≈ 1.18


# -- statistical properties ----------------------------------------------------------------------

def test_unbiased_mmd2_is_centred_on_zero_under_the_null():
    """Mean of MMD²_u over many draws of one distribution is 0 within its standard error,
    while the biased estimate is significantly positive (so the check can fail)."""
    k = kd.RBF(1.0)
    u, b = [], []
    for s in range(400):
        x, y = sample(16, d=2, seed=2 * s), sample(16, d=2, seed=2 * s + 1)
        u.append(float(kd.mmd2(x, y, k)))
        b.append(float(kd.mmd2(x, y, k, estimator="biased")))
    se = np.std(u, ddof=1) / np.sqrt(len(u))
    assert abs(np.mean(u)) < 3 * se
    assert np.mean(b) > 10 * np.std(b, ddof=1) / np.sqrt(len(b))


# -- float64 gradcheck of every kernel family × estimator ---------------------------------------

ESTIMATORS = {
    "mmd2-unbiased": lambda x, y, t, k: kd.mmd2(x, y, k),
    "mmd2-biased": lambda x, y, t, k: kd.mmd2(x, y, k, estimator="biased"),
    "mmd2-linear": lambda x, y, t, k: kd.mmd2(x, y, k, estimator="linear"),
    "mmd2-variance": lambda x, y, t, k: kd.mmd2_variance(x, y, k),
    "mmd2-ratio": lambda x, y, t, k: kd.mmd2_ratio(x, y, k),
    "witness": lambda x, y, t, k: kd.witness(t, x, y, k),
    "relative-test": lambda x, y, t, k: kd.relative_mmd_test(x, y, t, k),
}


@pytest.mark.parametrize("est", sorted(ESTIMATORS))
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradcheck_estimator(case, est):
    k0 = case[1]()
    ts = [t.detach().clone().requires_grad_() for t in k0.tensors()]
    x = sample(6, d=2, seed=1).requires_grad_()
    y = sample(6, d=2, shift=0.5, seed=2).requires_grad_()
    t = sample(5, d=2, shift=0.2, seed=3).requires_grad_()

    def f(x, y, t, *ts):
        with kd.options(tile=(4, 4)):
            return ESTIMATORS[est](x, y, t, k0.with_tensors(ts))

    assert gradcheck(f, (x, y, t, *ts), fast_mode=True)


@pytest.mark.parametrize("name", ["kde", "kde-log", "kde-ratio", "kernel-gan", "kernel-gan-loo",
                                  "energy", "kid-full", "kid-subsets"])
def test_gradcheck_density_estimators(name):
    q = sample(5, d=2, seed=1).requires_grad_()
    a = sample(7, d=2, seed=2).requires_grad_()
    b = sample(6, d=2, shift=0.5, seed=3).requires_grad_()
    sigma = torch.tensor(0.8, dtype=torch.float64, requires_grad=True)
    w = (torch.rand(7, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
         + 0.2).requires_grad_()
    fns = {
        "kde": lambda: kd.kde(q, a, sigma, weights=w),
        "kde-log": lambda: kd.kde(q, a, sigma, weights=w, log=True),
        "kde-ratio": lambda: kd.kde_ratio(q, a, b, sigma, phi=0.01),
        "kernel-gan": lambda: kd.kernel_gan_objective(a, b, sigma, phi=0.01),
        "kernel-gan-loo": lambda: kd.kernel_gan_objective(a, b, sigma, exclude_self=True),
        "energy": lambda: kd.energy_distance(a, b, beta=1.3),
        "kid-full": lambda: kd.kid(a[:6], b, subsets=None),
        "kid-subsets": lambda: kd.kid(a, b, subsets=3, subset_size=4,
                                      generator=torch.Generator().manual_seed(0)),
    }
    leaves = (q, a, b, sigma, w)
    assert gradcheck(lambda *_: fns[name](), leaves, fast_mode=True)


def test_nn_modules():
    x, y = sample(20, seed=1).float(), sample(20, shift=1.0, seed=2).float()
    loss = kd.nn.MMDLoss("rq*")
    torch.testing.assert_close(loss(x, y), kd.mmd2(x, y, "rq*"))
    assert "RQ(" in repr(loss) and "Dot()" in repr(loss)
    sigma = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    learned = kd.nn.MMDLoss(kd.RBF(sigma))
    assert any(p is sigma for p in learned.parameters())
    kde = kd.nn.KDE(y, 0.5, learn_bandwidth=True)
    torch.testing.assert_close(kde(x), kd.kde(x, y, 0.5), rtol=1e-5, atol=0)
    torch.testing.assert_close(kde.score_samples(x), kd.kde(x, y, 0.5, log=True), rtol=1e-5,
                               atol=1e-6)
    kde.log_prob(x).sum().backward()
    assert kde.log_sigma.grad is not None
    q = sample(4, d=3, seed=5).requires_grad_()
    module = kd.nn.KDE(sample(9, d=3, seed=6), 0.7)
    assert gradcheck(module.log_prob, (q,))
