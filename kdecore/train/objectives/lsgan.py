"""Least-squares GAN (SPEC §5; 001; Mao et al. 2017), targets a = 0, b = c = 1 by default."""

from __future__ import annotations

from torch import Tensor

from .registry import DCGAN_ADAM, Losses, Objective, Step, register_objective, scalar


def critic_loss(d_real: Tensor, d_fake: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """½E(D(x) − b)² + ½E(D(x̃) − a)² (the critic maximizes its negative)."""
    return 0.5 * ((d_real - b) ** 2).mean() + 0.5 * ((d_fake - a) ** 2).mean()


def generator_loss(d_fake: Tensor, c: float = 1.0) -> Tensor:
    """½E(D(x̃) − c)²."""
    return 0.5 * ((d_fake - c) ** 2).mean()


def _critic(s: Step) -> Losses:
    a, b, _ = s.cfg.ls_targets
    d_real, d_fake = scalar(s.critic(s.real)), scalar(s.critic(s.fake))
    loss = critic_loss(d_real, d_fake, a, b)
    return loss, {"d_loss": loss, "d_real": d_real.mean(), "d_fake": d_fake.mean()}


def _generator(s: Step) -> Losses:
    loss = generator_loss(scalar(s.critic(s.fake)), s.cfg.ls_targets[2])
    return loss, {"g_loss": loss}


register_objective(Objective(
    "lsgan", "001 (Mao et al. 2017)", "least squares: a = 0, b = c = 1 (--ls-targets)",
    "scalar", _generator, _critic, DCGAN_ADAM))

__all__ = ["critic_loss", "generator_loss"]
