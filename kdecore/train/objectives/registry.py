"""The objective registry: name -> :class:`Objective` (SPEC §5–6).

An objective is a pair of loss functions over a :class:`Step` plus its paper defaults. The loop
owns networks, optimizers and batches; the objective modules (one per source paper) hold pure
loss functions of tensors / critic outputs and a thin adapter that wires them to a Step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from torch import Tensor, nn

from ..config import TrainConfig

#: what a loss returns: the scalar to minimize and named values to log.
Losses = tuple[Tensor, dict[str, Tensor]]


@dataclasses.dataclass
class Step:
    """What a loss sees at one update.

    ``real`` and ``fake`` are batches of samples (packed when PacGAN is on; codes for
    code-space generators); ``fake2`` is a second, independent generator batch for objectives
    that ask for one. ``critic(x)`` returns (B, k) outputs (``critic(x, with_activations=True)``
    also the hidden activations). ``sigma`` is the bandwidth of the schedule at this step.
    """

    real: Tensor
    fake: Tensor
    cfg: TrainConfig
    step: int
    critic: Callable[..., Any] | None = None
    autoencoder: nn.Module | None = None
    fake2: Tensor | None = None
    sigma: float | None = None

    @property
    def backend(self) -> str:
        return self.cfg.backend


LossFn = Callable[[Step], Losses]


@dataclasses.dataclass(frozen=True)
class Objective:
    """A GAN objective.

    - ``critic``: ``"scalar"`` (one output V(x)), ``"features"`` (a feature map h, for kernel
      critics), ``"autoencoder"`` (an encoder/decoder trained in the critic's place) or
      ``"none"`` (no trained adversary: GMMN, Kernel GAN).
    - ``critic_loss`` (minimized by the critic; None when there is no critic) and
      ``generator_loss`` (minimized by the generator).
    - ``defaults``: config values from the source paper, used where the config says None.
    - ``clip_weights``: clamp critic weights to [−clip, clip] after each critic step (WGAN).
    - ``two_fakes``: the generator loss needs a second generator batch (Cramér GAN).
    - ``code_space``: the generator produces autoencoder codes, decoded to samples (GMMN-AE).
    - ``uses_bandwidth``: the loss reads ``Step.sigma`` from the bandwidth schedule.
    - ``uses_kernel``: the loss reads ``cfg.kernel`` (checked before training starts).
    """

    name: str
    source: str
    summary: str
    critic: str
    generator_loss: LossFn
    critic_loss: LossFn | None = None
    defaults: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    clip_weights: bool = False
    two_fakes: bool = False
    code_space: bool = False
    uses_bandwidth: bool = False
    uses_kernel: bool = False

    @property
    def has_critic(self) -> bool:
        return self.critic in ("scalar", "features")


CRITIC_KINDS = ("scalar", "features", "autoencoder", "none")

#: every registered objective, by name.
OBJECTIVES: dict[str, Objective] = {}


def register_objective(obj: Objective, *, replace: bool = False) -> Objective:
    """Add ``obj`` to :data:`OBJECTIVES` (``replace=True`` to overwrite a name)."""
    if obj.critic not in CRITIC_KINDS:
        raise ValueError(f"critic must be one of {CRITIC_KINDS}, got {obj.critic!r}")
    if (obj.critic == "none") != (obj.critic_loss is None):
        raise ValueError(f"objective {obj.name!r}: critic_loss must be given exactly when "
                         f"there is a critic")
    if obj.name in OBJECTIVES and not replace:
        raise ValueError(f"objective {obj.name!r} is already registered")
    OBJECTIVES[obj.name] = obj
    return obj


def get_objective(name: str) -> Objective:
    try:
        return OBJECTIVES[name]
    except KeyError:
        raise ValueError(f"unknown objective {name!r}; known: {', '.join(OBJECTIVES)}") from None


def scalar(v: Tensor) -> Tensor:
    """A (B, 1) or (B,) critic output as (B,)."""
    return v.reshape(v.shape[0], -1)[:, 0] if v.dim() > 1 else v


#: defaults shared by the critic-based objectives of the DCGAN lineage (Radford et al. 2016).
DCGAN_ADAM = {"optimizer": "adam", "lr_g": 2e-4, "lr_d": 2e-4, "betas": (0.5, 0.999),
              "n_critic": 1, "batch_size": 64}


__all__ = ["CRITIC_KINDS", "DCGAN_ADAM", "OBJECTIVES", "LossFn", "Losses", "Objective", "Step",
           "get_objective", "register_objective", "scalar"]
