"""Kernel families, presets and composition (SPEC §1) against the dense formulas."""

from __future__ import annotations

import pytest
import torch
from _dense import distance, dot, laplacian, poly, rbf, rq

import kdecore as kd


@pytest.fixture
def xy():
    g = torch.Generator().manual_seed(0)
    return (torch.randn(9, 4, generator=g, dtype=torch.float64),
            torch.randn(7, 4, generator=g, dtype=torch.float64) + 0.5)


PRESET_REF = {
    "rbf": lambda x, y: rbf(x, y, 1.0),
    "rbf-mix": lambda x, y: rbf(x, y, (2, 5, 10, 20, 40, 80)),
    "rq": lambda x, y: rq(x, y, 1.0),
    "rq-mix": lambda x, y: rq(x, y, (0.2, 0.5, 1, 2, 5)),
    "rq*": lambda x, y: rq(x, y, (0.2, 0.5, 1, 2, 5)) + dot(x, y),
    "dot": dot,
    "dist": lambda x, y: distance(x, y, 1.0),
    "poly3": lambda x, y: poly(x, y, 3),
    "laplacian": lambda x, y: laplacian(x, y, 1.0),
}


def test_every_preset_has_a_reference():
    assert set(PRESET_REF) == set(kd.PRESETS)


@pytest.mark.parametrize("name", sorted(PRESET_REF))
def test_preset_matrix_matches_formula(name, xy):
    x, y = xy
    torch.testing.assert_close(kd.kernel(name)(x, y), PRESET_REF[name](x, y),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(PRESET_REF))
def test_pointwise_is_the_diagonal(name, xy):
    x, y = xy
    k = kd.kernel(name)
    torch.testing.assert_close(k.pointwise(x[:7], y), torch.diagonal(k(x[:7], y)),
                               rtol=1e-12, atol=1e-12)


def test_composition_and_scaling(xy):
    x, y = xy
    k = 0.5 * kd.RBF(2.0) + kd.Dot() * 3.0
    assert isinstance(k, kd.SumKernel) and len(k.terms()) == 2
    torch.testing.assert_close(k(x, y), 0.5 * rbf(x, y, 2.0) + 3.0 * dot(x, y))
    nested = (kd.RBF(1.0) + kd.Dot()) + kd.Laplacian(2.0)
    assert len(nested.terms()) == 3
    doubled = 2 * nested
    torch.testing.assert_close(doubled(x, y), 2 * nested(x, y))


def test_tensor_scale_is_differentiable(xy):
    x, y = xy
    c = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    k = kd.RBF(1.0) * c
    k(x, y).sum().backward()
    torch.testing.assert_close(c.grad, rbf(x, y, 1.0).sum())


def test_tensors_round_trip(xy):
    x, y = xy
    k = kd.kernel("rq*")
    ts = [t.clone() * 1.0 for t in k.tensors()]
    k2 = k.with_tensors(ts)
    torch.testing.assert_close(k2(x, y), k(x, y))
    with pytest.raises(ValueError, match="tensors"):
        k.with_tensors(ts[:-1])


def test_polynomial_gamma_defaults_to_one_over_d(xy):
    x, y = xy
    torch.testing.assert_close(kd.Polynomial(3)(x, y), poly(x, y, 3, gamma=1 / 4))
    torch.testing.assert_close(kd.Polynomial(2, gamma=0.5, coef0=0.0)(x, y),
                               (0.5 * x @ y.T) ** 2)


def test_distance_anchor_variants(xy):
    x, y = xy
    z0 = torch.tensor([0.5, -1.0, 0.0, 2.0], dtype=torch.float64)
    k = kd.Distance(1.5, z0=z0)
    ref = 0.5 * ((x - z0).norm(dim=1)[:, None] ** 1.5 + (y - z0).norm(dim=1)[None] ** 1.5
                 - torch.cdist(x, y) ** 1.5)
    torch.testing.assert_close(k(x, y), ref)
    torch.testing.assert_close(kd.Distance(1.0, z0=None)(x, y), -0.5 * torch.cdist(x, y))


def test_log_matrix_of_positive_kernels(xy):
    x, y = xy
    from kdecore.tile import Tile

    for k in (kd.RBF((0.5, 2.0)), kd.RQ((0.5, 3.0), lengthscale=2.0), kd.Laplacian(1.5),
              0.3 * kd.RBF(1.0) + kd.RQ(1.0)):
        torch.testing.assert_close(k.log_matrix(Tile(x, y)), torch.log(k(x, y)))
    with pytest.raises(TypeError, match="log"):
        kd.Dot().log_matrix(Tile(x, y))


@pytest.mark.parametrize("bad, err", [
    (lambda: kd.RBF(0.0), ValueError), (lambda: kd.RBF(-1.0), ValueError),
    (lambda: kd.RBF((1.0, -2.0)), ValueError), (lambda: kd.RBF(float("nan")), ValueError),
    (lambda: kd.RBF(()), ValueError), (lambda: kd.RBF("wide"), TypeError),
    (lambda: kd.RBF((1.0, 2.0), weights=(1.0,)), ValueError),
    (lambda: kd.RQ(alpha=0.0), ValueError), (lambda: kd.RQ(lengthscale=-1.0), ValueError),
    (lambda: kd.Distance(0.0), ValueError), (lambda: kd.Distance(2.5), ValueError),
    (lambda: kd.Distance(1.0, z0=1.0), ValueError),
    (lambda: kd.Polynomial(0), ValueError), (lambda: kd.Polynomial(2.5), TypeError),
    (lambda: kd.Polynomial(3, gamma=0.0), ValueError), (lambda: kd.Laplacian(-0.1), ValueError),
    (lambda: kd.RBF(True), TypeError),
])
def test_bad_parameters_are_rejected(bad, err):
    with pytest.raises(err):
        bad()


def test_unknown_preset_lists_known_ones():
    with pytest.raises(ValueError, match="rbf-mix"):
        kd.kernel("gaussian-ish")
    with pytest.raises(TypeError):
        kd.kernel(3)


def test_learned_parameter_rechecked_at_call_time(xy):
    x, y = xy
    sigma = torch.tensor(1.0, requires_grad=True, dtype=torch.float64)
    k = kd.RBF(sigma)
    with torch.no_grad():
        sigma.fill_(-1.0)
    with pytest.raises(ValueError, match="sigma"):
        kd.kernel_sum(x, y, k)


def test_repr_is_readable():
    assert repr(kd.RBF((2, 5))) == "RBF(sigma=(2, 5), weights=(1, 1))"
    assert "Dot()" in repr(kd.kernel("rq*"))
    assert "gamma=1/d" in repr(kd.Polynomial(3))
