"""kdecore.train: a thin GAN trainer over the public kdecore API (SPEC §5–8).

Every objective of SPEC §5–6 (minimax/non-saturating GAN, LSGAN, WGAN, WGAN-GP, six f-GANs,
Poole et al.'s generator objectives, MMD GAN with five kernels, Cramér GAN, GMMN in data and
code space, Kernel GAN and its feature-space variant), PacGAN packing and unrolled critic
steps, on Gaussian mixtures, scikit-learn's digits or user data.

>>> from kdecore.train import train
>>> result = train(objective="kernel-gan", data="ring8", steps=3000, out="runs/ring8")

or on the command line: ``kdecore train --objective kernel-gan --data ring8 --steps 3000``.
``import kdecore`` does not import this package.
"""

from __future__ import annotations

from .config import TrainConfig, from_mapping, load_toml
from .data import DATASETS, Dataset, load_dataset
from .loop import NonFiniteLossError, Trainer, TrainResult, resolve, train
from .objectives import OBJECTIVES, Objective, Step, get_objective, register_objective
from .schedules import SCHEDULES

__all__ = [
    "DATASETS", "OBJECTIVES", "SCHEDULES", "Dataset", "NonFiniteLossError", "Objective", "Step",
    "TrainConfig", "TrainResult", "Trainer", "from_mapping", "get_objective", "load_dataset",
    "load_toml", "register_objective", "resolve", "train",
]
