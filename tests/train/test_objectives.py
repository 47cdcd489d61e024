"""Every objective of the registry trains (smoke), and each loss matches its formula
(SPEC §5–6; 001 Nowozin Table 2, 002 §2.2–2.3, 004 Appendix A)."""

from __future__ import annotations

import math

import pytest
import torch
from tiny_runs import tiny_config

import kdecore as kd
from kdecore.train import OBJECTIVES, Trainer
from kdecore.train.objectives import cramer, fgan, gan, lsgan, poole, wgan
from kdecore.train.objectives.mmd_gan import parse_kernel
from kdecore.train.objectives.penalties import activation_penalty, gradient_penalty


@pytest.fixture(autouse=True)
def one_thread():
    """Trainer is used directly here (train() picks 1 thread itself for vector data)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


#: (objective, extra settings): every registered objective, plus the other generator forms.
CASES = [(name, {}) for name in OBJECTIVES]
CASES += [(name, {"generator_form": "lower-bound"}) for name in OBJECTIVES
          if name.startswith("fgan-")]
CASES += [("poole-alpha", {"alpha": -1.0}), ("gmmn", {"kernel": "rbf-mix"})]


def _params(module):
    return [p.detach().clone() for p in module.parameters()]


def _changed(before, module):
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters(), strict=True))


@pytest.mark.parametrize(("name", "extra"), CASES,
                         ids=[f"{n}{'-' + '-'.join(map(str, e.values())) if e else ''}"
                              for n, e in CASES])
def test_smoke_every_objective(name, extra, tmp_path):
    """A few steps on ring8 on the CPU: finite losses, generator (and critic) parameters move."""
    trainer = Trainer(tiny_config(tmp_path, objective=name, steps=3, **extra))
    g0 = _params(trainer.G)
    d0 = None if trainer.D is None else _params(trainer.D)
    values = {}
    for i in range(2):
        values = trainer.train_step(i)
    assert "g_loss" in values
    for key, v in values.items():
        assert torch.isfinite(torch.as_tensor(v)).all(), (name, key, v)
    assert _changed(g0, trainer.G), f"{name}: generator parameters did not change"
    if d0 is not None:
        assert _changed(d0, trainer.D), f"{name}: critic parameters did not change"
        assert "d_loss" in values


@pytest.mark.parametrize("name", [n for n, o in OBJECTIVES.items() if o.has_critic][::4])
@pytest.mark.parametrize("options", [{"pack": 2}, {"unroll": 2}, {"pack": 2, "unroll": 1}])
def test_pacgan_and_unrolled_combine(name, options, tmp_path):
    trainer = Trainer(tiny_config(tmp_path, objective=name, steps=3, **options))
    g0 = _params(trainer.G)
    values = trainer.train_step(0)
    assert all(torch.isfinite(torch.as_tensor(v)).all() for v in values.values())
    assert _changed(g0, trainer.G)


def test_options_need_a_critic(tmp_path):
    for name in ("kernel-gan", "gmmn", "gmmn-ae"):
        with pytest.raises(ValueError, match="critic"):
            Trainer(tiny_config(tmp_path, objective=name, unroll=1))
    with pytest.raises(ValueError, match="multiple of pack"):
        Trainer(tiny_config(tmp_path, objective="ns-gan", pack=3))


# -- formulas ---------------------------------------------------------------------------------
V = torch.linspace(-3.0, 3.0, 25, dtype=torch.float64)


def test_gan_losses_are_the_log_sigmoid_forms():
    vr, vf = V, V.flip(0)
    naive = -(torch.log(torch.sigmoid(vr)).mean() + torch.log(1 - torch.sigmoid(vf)).mean())
    torch.testing.assert_close(gan.critic_loss(vr, vf), naive)
    torch.testing.assert_close(gan.minimax_generator_loss(vf),
                               torch.log(1 - torch.sigmoid(vf)).mean())
    torch.testing.assert_close(gan.nonsaturating_generator_loss(vf),
                               -torch.log(torch.sigmoid(vf)).mean())
    # finite where log(sigmoid) underflows
    assert torch.isfinite(gan.critic_loss(torch.tensor([-200.0]), torch.tensor([200.0])))


def test_lsgan_and_wgan_losses():
    d_real, d_fake = V, V + 0.5
    torch.testing.assert_close(lsgan.critic_loss(d_real, d_fake, 0.0, 1.0),
                               0.5 * ((d_real - 1) ** 2).mean() + 0.5 * (d_fake ** 2).mean())
    torch.testing.assert_close(lsgan.generator_loss(d_fake, 1.0), 0.5 * ((d_fake - 1) ** 2).mean())
    torch.testing.assert_close(wgan.critic_loss(d_real, d_fake), d_fake.mean() - d_real.mean())


#: Nowozin et al. Table 2, literally: (g_f(v), f*(t)).
TABLE = {
    "kl": (lambda v: v, lambda t: torch.exp(t - 1)),
    "rkl": (lambda v: -torch.exp(-v), lambda t: -1 - torch.log(-t)),
    "pearson": (lambda v: v, lambda t: t * t / 4 + t),
    "hellinger": (lambda v: 1 - torch.exp(-v), lambda t: t / (1 - t)),
    "js": (lambda v: math.log(2) - torch.log(1 + torch.exp(-v)),
           lambda t: -torch.log(2 - torch.exp(t))),
    "gan": (lambda v: -torch.log(1 + torch.exp(-v)), lambda t: -torch.log(1 - torch.exp(t))),
}


@pytest.mark.parametrize("div", list(fgan.DIVERGENCES))
def test_fgan_closed_forms_match_the_table(div):
    g, conj = TABLE[div]
    vr, vf = V, V.flip(0) * 0.7
    want = g(vr).mean() - conj(g(vf)).mean()
    torch.testing.assert_close(fgan.variational_bound(vr, vf, div), want)
    torch.testing.assert_close(fgan.generator_loss(vf, div, "alt"), -g(vf).mean())
    torch.testing.assert_close(fgan.generator_loss(vf, div, "lower-bound"), -conj(g(vf)).mean())


def test_fgan_stable_where_the_table_overflows():
    v = torch.tensor([-60.0, 60.0], dtype=torch.float64)
    for div in ("js", "gan", "hellinger", "rkl"):
        assert torch.isfinite(fgan.variational_bound(v[:1], v[1:], div)), div


@pytest.mark.parametrize("name", list(poole.GENERATOR_OBJECTIVES))
def test_poole_objectives_are_f_g_of_the_density_ratio(name):
    """004 eq. 8: the loss is f_G(u) at u = e^V (eq. 11)."""
    u = torch.exp(V)
    alpha = -0.7
    f_g = {"gan": torch.log(1 + 1 / u), "rkl": -torch.log(u), "kl": u * torch.log(u),
           "alpha": (u ** alpha - 1 - alpha * (u - 1)) / (alpha * (alpha - 1))}[name]
    torch.testing.assert_close(poole.generator_loss(V, name, alpha), f_g.mean())


def test_gradient_penalty_of_a_linear_function():
    """f(x) = a·x has ‖∇f‖ = ‖a‖ everywhere: the penalty is (‖a‖ − 1)²."""
    a = torch.tensor([3.0, 4.0], dtype=torch.float64)
    x, y = torch.randn(7, 2, dtype=torch.float64), torch.randn(7, 2, dtype=torch.float64)
    torch.testing.assert_close(gradient_penalty(lambda t: t @ a, x, y),
                               torch.tensor(16.0, dtype=torch.float64))
    acts = [torch.ones(3, 2), 2 * torch.ones(4)]
    torch.testing.assert_close(activation_penalty(acts), torch.tensor(5.0))


def test_witness_penalty_is_second_order_through_kdecore():
    """The MMD GAN critic's penalty has a gradient in the critic's weights (002 §2.2)."""
    torch.manual_seed(0)
    h = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 4))
    x, y = torch.randn(16, 2), torch.randn(16, 2) + 1
    k = parse_kernel("rq*")
    hx, hy = h(x), h(y)
    gp = gradient_penalty(lambda t: kd.witness(h(t), hx, hy, k), x, y)
    gp.backward()
    assert h[0].weight.grad is not None and float(h[0].weight.grad.abs().sum()) > 0


def test_cramer_terms_match_dense_distances():
    """002 eq. 9–10 and Bellemare et al.'s generator loss, against torch.cdist."""
    g = torch.Generator().manual_seed(0)
    hr, hf, hf2 = (torch.randn(9, 5, generator=g, dtype=torch.float64) + s
                   for s in (0.0, 1.0, 1.5))
    torch.testing.assert_close(cramer.mean_distance(hr, hf), torch.cdist(hr, hf).mean(1))
    f_c = lambda h: torch.cdist(h, hf2).mean(1) - h.norm(dim=1)  # noqa: E731
    torch.testing.assert_close(cramer.critic_function(hr, hf2), f_c(hr))
    d_c = (torch.cdist(hf, hf2).mean() + hr.norm(dim=1).mean() - hf.norm(dim=1).mean()
           - torch.cdist(hf2, hr).mean())
    torch.testing.assert_close(cramer.surrogate(hr, hf, hf2), -d_c)
    want = torch.cdist(hr, hf).mean() + torch.cdist(hr, hf2).mean() - torch.cdist(hf, hf2).mean()
    torch.testing.assert_close(cramer.generator_loss(hr, hf, hf2), want)


def test_kernel_specs():
    assert isinstance(parse_kernel("rq*"), kd.Kernel)
    x, y = torch.randn(5, 3), torch.randn(6, 3)
    torch.testing.assert_close(parse_kernel("rbf:0.5,2")(x, y),
                               kd.RBF((0.5, 2.0))(x, y))
    for bad in ("nope", "rbf:", "rbf:a", "dist:1,2", "foo:1"):
        with pytest.raises(ValueError):
            parse_kernel(bad)


def test_mmd_critic_maximizes_mmd():
    """The MMD GAN critic loss is −MMD²_u + penalties; its generator loss is MMD²_u."""
    from kdecore.train.objectives.mmd_gan import critic_objective

    x, y = torch.randn(20, 4), torch.randn(20, 4) + 2
    k = kd.kernel("rq-mix")
    torch.testing.assert_close(critic_objective(x, y, k), kd.mmd2(x, y, k))


@pytest.mark.parametrize("name", ["mmd-rq*", "cramer"])
def test_gradient_penalty_backend(name, tmp_path):
    """The witness gradient penalty differentiates kernel sums twice: with backend "auto" it
    runs them on the torch backend (exact second derivatives on any device); an explicit
    first-order backend raises and says why instead of training on a detached penalty."""
    from conftest import require_backend

    from kdecore.train.objectives.penalties import second_order_backend

    assert second_order_backend("auto") == "torch"
    assert second_order_backend("triton") == "triton"
    Trainer(tiny_config(tmp_path / "auto", objective=name, steps=1)).train_step(0)
    require_backend("triton")
    trainer = Trainer(tiny_config(tmp_path / "triton", objective=name, steps=1,
                                  backend="triton"))
    with pytest.raises(RuntimeError, match="triton backend differentiates once"):
        trainer.train_step(0)
