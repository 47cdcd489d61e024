"""MMD GAN (SPEC §5; 002 §2.2, §5): the critic is a feature map h, the loss MMD²_u on h.

The critic maximizes MMD²_u(h(X), h(X̃)) − λ E(‖∇_x̂ f(x̂)‖ − 1)² − μ Σ_layers mean(a²), with
f(t) = (1/m) Σ_i k(h(x_i), h(t)) − (1/n) Σ_j k(h(x̃_j), h(t)) the witness of the current batch
(002 eq. 3) at interpolates x̂; the generator minimizes MMD²_u(h(X), h(X̃)). MMD² and the
witness are ``kd.mmd2`` and ``kd.witness`` (kdecore's fused sums, Triton on GPU); the gradient
penalty differentiates through them twice.

Defaults (002 §5): batch 64, 5 critic updates, Adam lr 1e-4, penalty λ = 1 (10 for dist),
16 critic features (256 for dist), activation penalty μ = 1 for rq*, 1e-4 for dist.
"""

from __future__ import annotations

import kdecore as kd

from .penalties import activation_penalty, gradient_penalty, second_order_backend
from .registry import Losses, Objective, Step, register_objective

#: kernel constructors for ``name:values`` specs (families with one list-valued parameter).
KERNEL_SPECS = {"rbf": kd.RBF, "rq": kd.RQ, "dist": kd.Distance, "laplacian": kd.Laplacian}


def parse_kernel(spec: str) -> kd.Kernel:
    """A kernel from a kdecore preset name (``"rq*"``, ``"rbf-mix"``, ``"dist"``, ...) or a
    ``family:values`` spec: ``"rbf:0.1,0.5,1"`` (bandwidth mixture), ``"rq:0.2,1,5"``
    (α mixture), ``"dist:1"`` (β), ``"laplacian:1"``."""
    if not isinstance(spec, str):
        raise TypeError(f"kernel must be a string, got {type(spec).__name__}")
    if ":" not in spec:
        return kd.kernel(spec)
    family, _, values = spec.partition(":")
    if family not in KERNEL_SPECS:
        raise ValueError(f"kernel {spec!r}: unknown family {family!r}; use a preset "
                         f"({', '.join(kd.PRESETS)}) or one of {', '.join(KERNEL_SPECS)}:values")
    try:
        nums = [float(v) for v in values.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"kernel {spec!r}: the values must be numbers") from None
    if not nums:
        raise ValueError(f"kernel {spec!r}: give at least one value after ':'")
    if family in ("dist", "laplacian"):
        if len(nums) != 1:
            raise ValueError(f"kernel {spec!r}: {family} takes one value")
        return KERNEL_SPECS[family](nums[0])
    return KERNEL_SPECS[family](nums if len(nums) > 1 else nums[0])


def critic_objective(h_real, h_fake, kernel: kd.Kernel, backend: str = "auto"):
    """MMD²_u(h(X), h(X̃)) (002 eq. 4 on critic features)."""
    return kd.mmd2(h_real, h_fake, kernel, backend=backend)


def _critic(s: Step) -> Losses:
    k = parse_kernel(s.cfg.kernel)
    h_real, acts_real = s.critic(s.real, with_activations=True)
    h_fake, acts_fake = s.critic(s.fake, with_activations=True)
    mmd = critic_objective(h_real, h_fake, k, s.backend)
    loss, logs = -mmd, {"mmd2": mmd}
    if s.cfg.gp_weight:
        gp_backend = second_order_backend(s.backend)
        gp = gradient_penalty(lambda x: kd.witness(s.critic(x), h_real, h_fake, k,
                                                   backend=gp_backend), s.real, s.fake)
        loss = loss + s.cfg.gp_weight * gp
        logs["gp"] = gp
    if s.cfg.act_penalty:
        act = activation_penalty([*acts_real, *acts_fake, h_real, h_fake])
        loss = loss + s.cfg.act_penalty * act
        logs["act_l2"] = act
    logs["d_loss"] = loss
    return loss, logs


def _generator(s: Step) -> Losses:
    k = parse_kernel(s.cfg.kernel)
    loss = critic_objective(s.critic(s.real), s.critic(s.fake), k, s.backend)
    return loss, {"g_loss": loss}


#: objective name -> (kernel preset, gradient-penalty weight, features, activation penalty).
VARIANTS = {
    "mmd-rbf": ("rbf-mix", 1.0, 16, 0.0),
    "mmd-rq": ("rq-mix", 1.0, 16, 0.0),
    "mmd-rq*": ("rq*", 1.0, 16, 1.0),
    "mmd-dot": ("dot", 1.0, 16, 0.0),
    "mmd-dist": ("dist", 10.0, 256, 1e-4),
}

for _name, (_kernel, _gp, _feat, _act) in VARIANTS.items():
    register_objective(Objective(
        _name, "002 §2.2, §5", f"MMD GAN, kernel {_kernel} on {_feat} critic features, witness "
        f"gradient penalty λ = {_gp:g}" + (f", activation penalty {_act:g}" if _act else ""),
        "features", _generator, _critic,
        {"optimizer": "adam", "lr_g": 1e-4, "lr_d": 1e-4, "betas": (0.5, 0.9), "n_critic": 5,
         "batch_size": 64, "kernel": _kernel, "gp_weight": _gp, "critic_features": _feat,
         "act_penalty": _act},
        uses_kernel=True))

__all__ = ["KERNEL_SPECS", "VARIANTS", "critic_objective", "parse_kernel"]
