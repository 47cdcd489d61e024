"""Bandwidth schedules of the Kernel GAN (000 §3.1, Fig. 1; Algorithm 1 step 6).

A schedule maps (step, steps, sigmas) to the bandwidth σ used at that step; every schedule is
stated in fractions of ``--steps``, so a shorter run anneals through the same phases. The
median schedule returns a :class:`MedianRule`, evaluated on each batch.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

from torch import Tensor

import kdecore as kd

#: the MoG annealing of 000 Fig. 1: six phases (10 000 iterations each in the paper).
PAPER_SIGMAS = (0.8, 0.4, 0.2, 0.1, 0.05, 0.025)


@dataclasses.dataclass(frozen=True)
class MedianRule:
    """σ = factor · median heuristic of the pooled batch (SPEC §3; kd.bandwidth), per step."""

    factor: float = 1.0

    def __call__(self, a: Tensor, b: Tensor) -> Tensor:
        return self.factor * kd.bandwidth(a.detach().flatten(1), b.detach().flatten(1),
                                           "median")


Bandwidth = float | MedianRule


def anneal(step: int, steps: int, sigmas: Sequence[float]) -> float:
    """Equal phases: σ = sigmas[⌊step · P / steps⌋] (000 Fig. 1: 0.8, 0.4, ..., 0.025)."""
    return float(sigmas[min(len(sigmas) - 1, step * len(sigmas) // max(steps, 1))])


def geometric(step: int, steps: int, sigmas: Sequence[float]) -> float:
    """Smooth exponential decay from sigmas[0] at step 0 to sigmas[-1] at the last step."""
    t = step / max(steps - 1, 1)
    return float(math.exp((1 - t) * math.log(sigmas[0]) + t * math.log(sigmas[-1])))


def constant(step: int, steps: int, sigmas: Sequence[float]) -> float:
    """σ = sigmas[0] throughout."""
    return float(sigmas[0])


def median(step: int, steps: int, sigmas: Sequence[float]) -> MedianRule:
    """σ = sigmas[0] × the median heuristic of each pooled batch (scale-free; the default in
    feature space, where the encoder sets the scale)."""
    return MedianRule(float(sigmas[0]))


#: schedule name -> (function, description, default sigmas).
SCHEDULES: dict[str, tuple[Callable[[int, int, Sequence[float]], Bandwidth], str,
                           tuple[float, ...]]] = {
    "anneal": (anneal, "000 §3.1: σ = 0.8, 0.4, 0.2, 0.1, 0.05, 0.025 in equal phases",
               PAPER_SIGMAS),
    "geometric": (geometric, "σ decays exponentially from the first to the last of --sigmas",
                  (0.8, 0.025)),
    "constant": (constant, "fixed σ = --sigmas (default 0.1)", (0.1,)),
    "median": (median, "σ = factor × median heuristic of each batch (--sigmas factor, 1)",
               (1.0,)),
}


def bandwidth_at(schedule: str, step: int, steps: int,
                 sigmas: Sequence[float] | None) -> Bandwidth:
    """The bandwidth of ``schedule`` at ``step`` of ``steps`` (``sigmas=None``: its defaults)."""
    try:
        fn, _, default = SCHEDULES[schedule]
    except KeyError:
        raise ValueError(f"unknown bandwidth schedule {schedule!r}; known: "
                         f"{', '.join(SCHEDULES)}") from None
    return fn(step, steps, default if sigmas is None else sigmas)


def resolve(sigma: Bandwidth, a: Tensor, b: Tensor) -> float | Tensor:
    """A number for the kernel: σ itself, or the median rule evaluated on (a, b)."""
    return sigma(a, b) if isinstance(sigma, MedianRule) else sigma


__all__ = ["PAPER_SIGMAS", "SCHEDULES", "Bandwidth", "MedianRule", "anneal", "bandwidth_at",
           "constant", "geometric", "median", "resolve"]
