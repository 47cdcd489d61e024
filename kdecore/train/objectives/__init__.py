"""GAN objectives, one module per source paper (SPEC §5–6), registered by name in
:data:`OBJECTIVES` (``kdecore train --list``)."""

from __future__ import annotations

import importlib

from .registry import OBJECTIVES, Losses, Objective, Step, get_objective, register_objective

#: the objective modules, in the order ``--list`` shows them (importing one registers it).
MODULES = ("gan", "lsgan", "wgan", "fgan", "poole", "mmd_gan", "cramer", "gmmn", "kernel_gan",
           "feature_kernel_gan")

for _module in MODULES:
    importlib.import_module(f".{_module}", __name__)

__all__ = ["MODULES", "OBJECTIVES", "Losses", "Objective", "Step", "get_objective",
           "register_objective"]
