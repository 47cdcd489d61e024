"""f-GAN (SPEC §5; 001: Nowozin et al. 2016, Table 2) for six f-divergences.

The variational function is T(x) = g_f(V(x)) with an output activation g_f into dom f*; the
critic maximizes F = E g_f(V(x)) − E f*(g_f(V(x̃))) (Nowozin eq. 7). Each pair
(g_f(v), f*(g_f(v))) is written in closed form with softplus / exp, never as log∘exp:

| divergence        | g_f(v)              | f*(g_f(v))                        |
|-------------------|---------------------|-----------------------------------|
| KL                | v                   | exp(v − 1)                        |
| reverse KL        | −exp(−v)            | −1 − log(exp(−v)) = v − 1         |
| Pearson χ²        | v                   | v²/4 + v                          |
| squared Hellinger | 1 − exp(−v)         | (1 − e^{−v})/e^{−v} = e^v − 1     |
| Jensen-Shannon    | log 2 − softplus(−v)| −log(2 − 2σ(v)) = softplus(v) − log 2 |
| GAN               | −softplus(−v)       | −log(1 − σ(v)) = softplus(v)      |

The generator minimizes either the lower bound itself (``generator_form="lower-bound"``:
−E f*(g_f(V(x̃))), the only term that depends on G) or G_ALT, −E g_f(V(x̃)) (``"alt"``, the
form Nowozin et al. use in their experiments).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor
from torch.nn.functional import softplus

from .registry import DCGAN_ADAM, Losses, Objective, Step, register_objective, scalar

LOG2 = math.log(2.0)

#: divergence -> (name, g_f, f* ∘ g_f).
DIVERGENCES: dict[str, tuple[str, Callable[[Tensor], Tensor], Callable[[Tensor], Tensor]]] = {
    "kl": ("Kullback-Leibler", lambda v: v, lambda v: torch.exp(v - 1.0)),
    "rkl": ("reverse KL", lambda v: -torch.exp(-v), lambda v: v - 1.0),
    "pearson": ("Pearson χ²", lambda v: v, lambda v: 0.25 * v * v + v),
    "hellinger": ("squared Hellinger", lambda v: -torch.expm1(-v), torch.expm1),
    "js": ("Jensen-Shannon", lambda v: LOG2 - softplus(-v), lambda v: softplus(v) - LOG2),
    "gan": ("GAN", lambda v: -softplus(-v), softplus),
}


def variational_bound(v_real: Tensor, v_fake: Tensor, divergence: str) -> Tensor:
    """F = E g_f(V(x)) − E f*(g_f(V(x̃))): a lower bound on D_f(P‖Q) (Nowozin eq. 7)."""
    _, g, conj = DIVERGENCES[divergence]
    return g(v_real).mean() - conj(v_fake).mean()


def generator_loss(v_fake: Tensor, divergence: str, form: str = "alt") -> Tensor:
    """``"lower-bound"``: −E f*(g_f(V(x̃))); ``"alt"``: −E g_f(V(x̃))."""
    _, g, conj = DIVERGENCES[divergence]
    return -(conj(v_fake) if form == "lower-bound" else g(v_fake)).mean()


def _objective(div: str) -> Objective:
    label = DIVERGENCES[div][0]

    def critic(s: Step) -> Losses:
        bound = variational_bound(scalar(s.critic(s.real)), scalar(s.critic(s.fake)), div)
        return -bound, {"d_loss": -bound, "f_bound": bound}

    def gen(s: Step) -> Losses:
        loss = generator_loss(scalar(s.critic(s.fake)), div, s.cfg.generator_form)
        return loss, {"g_loss": loss}

    return Objective(f"fgan-{div}", "001 (Nowozin et al. 2016, Table 2)",
                     f"f-GAN, {label}; --generator-form alt|lower-bound", "scalar", gen, critic,
                     DCGAN_ADAM)


for _div in DIVERGENCES:
    register_objective(_objective(_div))

__all__ = ["DIVERGENCES", "generator_loss", "variational_bound"]
