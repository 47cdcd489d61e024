"""Minimax and non-saturating GAN (SPEC §5; 001, 003; Goodfellow et al. 2014).

With a raw critic output V and D = σ(V): log σ(v) = −softplus(−v), log(1 − σ(v)) = −softplus(v),
so every loss here is a softplus of V (no log of a sigmoid that underflows).
"""

from __future__ import annotations

from torch import Tensor
from torch.nn.functional import softplus

from .registry import DCGAN_ADAM, Losses, Objective, Step, register_objective, scalar


def critic_loss(v_real: Tensor, v_fake: Tensor) -> Tensor:
    """−[E log σ(V(x)) + E log(1 − σ(V(x̃)))] = E softplus(−V(x)) + E softplus(V(x̃))."""
    return softplus(-v_real).mean() + softplus(v_fake).mean()


def minimax_generator_loss(v_fake: Tensor) -> Tensor:
    """E log(1 − σ(V(x̃))) = −E softplus(V(x̃)) (the saturating minimax form)."""
    return -softplus(v_fake).mean()


def nonsaturating_generator_loss(v_fake: Tensor) -> Tensor:
    """G_ALT: −E log σ(V(x̃)) = E softplus(−V(x̃))."""
    return softplus(-v_fake).mean()


def critic_step(s: Step) -> Losses:
    """The standard GAN critic on a Step (also the critic of Poole et al.'s objectives, 004)."""
    v_real, v_fake = scalar(s.critic(s.real)), scalar(s.critic(s.fake))
    loss = critic_loss(v_real, v_fake)
    return loss, {"d_loss": loss, "d_real": v_real.mean(), "d_fake": v_fake.mean()}


def _generator(fn):
    def loss(s: Step) -> Losses:
        value = fn(scalar(s.critic(s.fake)))
        return value, {"g_loss": value}
    return loss


register_objective(Objective(
    "gan", "001, 003 (Goodfellow et al. 2014)",
    "minimax GAN: G minimizes E log(1 − D(G(z)))", "scalar",
    _generator(minimax_generator_loss), critic_step, DCGAN_ADAM))
register_objective(Objective(
    "ns-gan", "001, 004 (G_ALT)",
    "non-saturating GAN: G minimizes −E log D(G(z))", "scalar",
    _generator(nonsaturating_generator_loss), critic_step, DCGAN_ADAM))

__all__ = ["critic_loss", "critic_step", "minimax_generator_loss", "nonsaturating_generator_loss"]
