"""Poole et al.'s generator objectives over a standard GAN critic (SPEC §5; 004 eq. 8,
Appendix A).

With the standard GAN discriminator T = −softplus(−V), the density ratio is
q(x)/p(x) ≈ e^{V(x)} (004 eq. 11), and the generator minimizes E_x̃ f_G(e^{V(x̃)}):

| name          | f_G(u)                                | generator loss (004 Table A)          |
|---------------|---------------------------------------|---------------------------------------|
| GAN-standard  | log(1 + 1/u)                          | softplus(−V)                          |
| GAN-RKL       | −log u                                | −V                                    |
| GAN-KL        | u log u                               | V e^V                                 |
| GAN-α         | (u^α − 1 − α(u − 1))/(α(α − 1))       | (e^{αV} − 1 − α(e^V − 1))/(α(α − 1))  |

GAN-α is computed with expm1 (no cancellation near V = 0); α → 0 is RKL, α → 1 is KL,
α = 0.5 squared Hellinger (004 Fig. 2).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.nn.functional import softplus

from . import gan
from .registry import Losses, Objective, Step, register_objective, scalar


def alpha_loss(v: Tensor, alpha: float) -> Tensor:
    """(e^{αV} − 1 − α(e^V − 1)) / (α(α − 1)), elementwise."""
    return (torch.expm1(alpha * v) - alpha * torch.expm1(v)) / (alpha * (alpha - 1.0))


#: objective -> (f_G as text, per-sample loss of V and the config).
GENERATOR_OBJECTIVES: dict[str, tuple[str, Callable[[Tensor, float], Tensor]]] = {
    "gan": ("log(1 + 1/u)", lambda v, a: softplus(-v)),
    "rkl": ("−log u", lambda v, a: -v),
    "kl": ("u log u", lambda v, a: v * torch.exp(v)),
    "alpha": ("(u^α − 1 − α(u − 1))/(α(α−1))", alpha_loss),
}


def generator_loss(v_fake: Tensor, objective: str, alpha: float = 0.5) -> Tensor:
    """E_x̃ f_G(e^{V(x̃)}) for one of :data:`GENERATOR_OBJECTIVES`."""
    return GENERATOR_OBJECTIVES[objective][1](v_fake, alpha).mean()


def _objective(name: str) -> Objective:
    f_text = GENERATOR_OBJECTIVES[name][0]

    def gen(s: Step) -> Losses:
        loss = generator_loss(scalar(s.critic(s.fake)), name, s.cfg.alpha)
        return loss, {"g_loss": loss}

    extra = " (--alpha)" if name == "alpha" else ""
    return Objective(f"poole-{name}", "004 eq. 8, Appendix A",
                     f"standard GAN critic, G minimizes E f_G(e^V), f_G(u) = {f_text}{extra}",
                     "scalar", gen, gan.critic_step,
                     {"optimizer": "adam", "lr_g": 1e-4, "lr_d": 1e-4, "betas": (0.5, 0.999),
                      "n_critic": 1, "batch_size": 128})


for _name in GENERATOR_OBJECTIVES:
    register_objective(_objective(_name))

__all__ = ["GENERATOR_OBJECTIVES", "alpha_loss", "generator_loss"]
