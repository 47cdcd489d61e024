"""KID-driven learning-rate decay (SPEC §5; 002 §4.1, §5).

Every ``every`` generator steps the current generator is compared with the one from ``lag``
steps earlier by the relative similarity test (``kd.relative_mmd_test``, SPEC §4.5) against
held-out data, with the KID kernel (cubic polynomial, ``kd.Polynomial(3)``) on flattened
samples (002 uses Inception/LeNet features; none is downloaded here). A p-value ≥ ``level``
is a failure to improve; after ``patience`` consecutive failures both learning rates are
halved. 002 §5: every 2 000 steps, lag 20 000, patience 3 (of 150 000 steps); the defaults
scale those fractions to ``--steps``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable

import torch
from torch import Tensor, nn

import kdecore as kd


class KIDLearningRate:
    """State of the adaptive scheme: generator snapshots, the failure count, the halvings."""

    def __init__(self, every: int, lag: int, patience: int, level: float, samples: int) -> None:
        if lag < every or lag % every:
            raise ValueError(f"kid_lag ({lag}) must be a positive multiple of kid_every "
                             f"({every})")
        self.every, self.lag, self.patience = every, lag, patience
        self.level, self.samples = level, samples
        self.snapshots: dict[int, dict[str, Tensor]] = {}
        self.failures = 0
        self.halvings = 0
        self.last_p: float | None = None

    def state_dict(self) -> dict:
        return {"snapshots": self.snapshots, "failures": self.failures,
                "halvings": self.halvings, "last_p": self.last_p}

    def load_state_dict(self, state: dict) -> None:
        self.snapshots = dict(state["snapshots"])
        self.failures = int(state["failures"])
        self.halvings = int(state["halvings"])
        self.last_p = state["last_p"]

    def snapshot(self, step: int, generator: nn.Module) -> dict[str, Tensor] | None:
        """Called after generator step ``step`` (1-based): on a test step, store a copy of the
        generator's state and return the one from ``lag`` steps earlier (None when there is
        none yet or this is not a test step)."""
        if step % self.every:
            return None
        self.snapshots[step] = {k: v.detach().cpu().clone()
                                for k, v in generator.state_dict().items()}
        old = self.snapshots.pop(step - self.lag, None)
        for s in [s for s in self.snapshots if s < step - self.lag]:
            del self.snapshots[s]
        return old

    def test(self, old: dict[str, Tensor], generator: nn.Module,
             sample: Callable[[nn.Module, int], Tensor], heldout: Tensor) -> float:
        """p-value of the relative test: is the current generator closer to the held-out data
        than the old one (SPEC §4.5)?"""
        past = copy.deepcopy(generator)
        past.load_state_dict(old)
        n = min(self.samples, heldout.shape[0])
        x = heldout[:n].flatten(1).to(next(generator.parameters()).device)
        with torch.no_grad():
            y = sample(past, n).flatten(1)
            z = sample(generator, n).flatten(1)
            p, _ = kd.relative_mmd_test(x, y, z, kd.Polynomial(3))
        return float(p)

    def record(self, p: float, optimizers: Iterable[torch.optim.Optimizer]) -> dict[str, float]:
        """Count a failure when p ≥ level; halve every learning rate after ``patience`` in a
        row. Returns the values to log."""
        self.last_p = p
        self.failures = 0 if p < self.level else self.failures + 1
        if self.failures >= self.patience:
            for opt in optimizers:
                for group in opt.param_groups:
                    group["lr"] *= 0.5
            self.halvings += 1
            self.failures = 0
        return {"kid_p": p, "kid_failures": float(self.failures),
                "kid_halvings": float(self.halvings)}


__all__ = ["KIDLearningRate"]
