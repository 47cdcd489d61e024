"""Settings that make any objective train in a fraction of a second (trainer tests).

A helper module rather than a conftest.py: a second conftest would shadow ``tests/conftest.py``
for the ``from conftest import ...`` of other test modules.
"""

from __future__ import annotations

from pathlib import Path

from kdecore.train import TrainConfig

TINY = {
    "data": "ring8", "batch_size": 16, "z_dim": 4, "g_hidden": (16,), "d_hidden": (16,),
    "progress": False, "tensorboard": False, "eval_samples": 200, "sample_every": 10_000,
    "device": "cpu", "threads": 1,
}


def tiny_config(tmp_path: Path, **changes) -> TrainConfig:
    """A TrainConfig with the TINY settings, output in ``tmp_path / "run"``."""
    return TrainConfig(**{"out": str(tmp_path / "run"), **TINY, **changes})
