"""Cramér GAN critic (SPEC §5; 002 §2.3 eq. 9–10; Bellemare et al. 2017, Algorithm 1).

With features h and ρ(a, b) = ‖h(a) − h(b)‖ (ρ(a, 0) = ‖h(a)‖, the origin of feature space):

- critic function f_c(x) = E ρ(x, X̃') − ρ(x, 0)  (002 eq. 9), X̃' a second generator batch;
- the critic maximizes L_s = E f_c(X) − E f_c(X̃) = −D_c with D_c of 002 eq. 10
  (E ρ(X̃,X̃') + E ρ(X,0) − E ρ(X̃,0) − E ρ(X̃',X)), minus λ E(‖∇f_c(x̂)‖ − 1)², λ = 10;
- the generator minimizes the energy distance with two generator batches
  E ρ(X, X̃) + E ρ(X, X̃') − E ρ(X̃, X̃').

Sign: 002 writes D_c as the critic's *surrogate loss*; SPEC's table says the critic maximizes
D_c. Bellemare et al.'s Algorithm 1 (critic loss −L_s + λ·GP) fixes the sign used here.
Every E ρ(a, B) is a row sum of the anchor-free distance kernel −½‖a − b‖
(``kd.Distance(1, z0=None)``) through ``kd.pairwise_sums``.
"""

from __future__ import annotations

import torch
from torch import Tensor

import kdecore as kd

from .penalties import gradient_penalty, second_order_backend
from .registry import Losses, Objective, Step, register_objective

_RHO = kd.Distance(1.0, z0=None)  # k(a, b) = −½‖a − b‖


def mean_distance(a: Tensor, b: Tensor, backend: str = "auto") -> Tensor:
    """(1/n) Σ_j ‖a_i − b_j‖ for each row a_i, shape (m,)."""
    return -2.0 * kd.pairwise_sums(a, b, _RHO, backend=backend).rows / b.shape[0]


def critic_function(h_x: Tensor, h_fake2: Tensor, backend: str = "auto") -> Tensor:
    """f_c(x) = E ρ(x, X̃') − ρ(x, 0)  (002 eq. 9), per row of h_x."""
    return mean_distance(h_x, h_fake2, backend) - torch.linalg.vector_norm(h_x, dim=1)


def surrogate(h_real: Tensor, h_fake: Tensor, h_fake2: Tensor, backend: str = "auto") -> Tensor:
    """L_s = E f_c(X) − E f_c(X̃) = −D_c (002 eq. 10)."""
    return (critic_function(h_real, h_fake2, backend).mean()
            - critic_function(h_fake, h_fake2, backend).mean())


def generator_loss(h_real: Tensor, h_fake: Tensor, h_fake2: Tensor,
                   backend: str = "auto") -> Tensor:
    """E ρ(X, X̃) + E ρ(X, X̃') − E ρ(X̃, X̃')  (Bellemare et al. 2017, Algorithm 1)."""
    return (mean_distance(h_real, h_fake, backend).mean()
            + mean_distance(h_real, h_fake2, backend).mean()
            - mean_distance(h_fake, h_fake2, backend).mean())


def _critic(s: Step) -> Losses:
    h_real, h_fake, h_fake2 = s.critic(s.real), s.critic(s.fake), s.critic(s.fake2)
    ls = surrogate(h_real, h_fake, h_fake2, s.backend)
    gp_backend = second_order_backend(s.backend)
    gp = gradient_penalty(lambda x: critic_function(s.critic(x), h_fake2, gp_backend),
                          s.real, s.fake)
    loss = -ls + s.cfg.gp_weight * gp
    return loss, {"d_loss": loss, "surrogate": ls, "gp": gp}


def _generator(s: Step) -> Losses:
    loss = generator_loss(s.critic(s.real), s.critic(s.fake), s.critic(s.fake2), s.backend)
    return loss, {"g_loss": loss}


register_objective(Objective(
    "cramer", "002 §2.3 eq. 9–10 (Bellemare et al. 2017)",
    "Cramér GAN: surrogate critic on 256 features, GP λ = 10, energy-distance generator loss",
    "features", _generator, _critic,
    {"optimizer": "adam", "lr_g": 1e-4, "lr_d": 1e-4, "betas": (0.5, 0.9), "n_critic": 5,
     "batch_size": 64, "gp_weight": 10.0, "critic_features": 256},
    two_fakes=True))

__all__ = ["critic_function", "generator_loss", "mean_distance", "surrogate"]
