"""Wasserstein GAN with weight clipping, and WGAN-GP (SPEC §5; 001: Arjovsky et al. 2017,
Gulrajani et al. 2017)."""

from __future__ import annotations

from torch import Tensor

from .penalties import gradient_penalty
from .registry import Losses, Objective, Step, register_objective, scalar


def critic_loss(v_real: Tensor, v_fake: Tensor) -> Tensor:
    """−(E V(x) − E V(x̃)): the critic maximizes the Wasserstein estimate."""
    return v_fake.mean() - v_real.mean()


def generator_loss(v_fake: Tensor) -> Tensor:
    """−E V(x̃)."""
    return -v_fake.mean()


def _critic(s: Step) -> Losses:
    v_real, v_fake = scalar(s.critic(s.real)), scalar(s.critic(s.fake))
    loss = critic_loss(v_real, v_fake)
    return loss, {"d_loss": loss, "wasserstein": -loss}


def _critic_gp(s: Step) -> Losses:
    loss, logs = _critic(s)
    gp = gradient_penalty(lambda x: scalar(s.critic(x)), s.real, s.fake)
    total = loss + s.cfg.gp_weight * gp
    return total, {**logs, "d_loss": total, "gp": gp}


def _generator(s: Step) -> Losses:
    loss = generator_loss(scalar(s.critic(s.fake)))
    return loss, {"g_loss": loss}


register_objective(Objective(
    "wgan", "001 (Arjovsky et al. 2017)", "Wasserstein critic, weights clipped to [−c, c]",
    "scalar", _generator, _critic,
    {"optimizer": "rmsprop", "lr_g": 5e-5, "lr_d": 5e-5, "n_critic": 5, "clip": 0.01,
     "batch_size": 64},
    clip_weights=True))
register_objective(Objective(
    "wgan-gp", "001 (Gulrajani et al. 2017)", "Wasserstein critic with gradient penalty λ = 10",
    "scalar", _generator, _critic_gp,
    {"optimizer": "adam", "lr_g": 1e-4, "lr_d": 1e-4, "betas": (0.0, 0.9), "n_critic": 5,
     "gp_weight": 10.0, "batch_size": 64}))

__all__ = ["critic_loss", "generator_loss"]
