"""Metric objects over streams of batches (the module form of every metric of SPEC §7).

Like torchmetrics: ``update(batch, real=...)`` any number of times, ``compute()``, ``reset()``.
A batch goes through an optional feature extractor (any ``nn.Module`` or callable, e.g.
:meth:`~kdecore.train.metrics.lenet.DigitsLeNet.features`) in chunks under ``torch.no_grad``;
the features are flattened to (n, d), detached and accumulated on ``device`` (``"cpu"`` keeps
GPU memory free: torchmetrics#468). ``compute()`` returns a ``dict[str, float]`` ready for a
logger; the functional forms next to each class return tensors.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from kdecore.validation import as_points

FeatureFn = Callable[[Tensor], Tensor]

#: default number of points sent through a feature extractor at once
DEFAULT_CHUNK = 512


def check_int(value: object, name: str, minimum: int) -> int:
    """``value`` as an int ≥ ``minimum``, or a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def check_fraction(value: object, name: str, *, low_open: bool = False) -> float:
    """``value`` as a float in [0, 1) (or (0, 1) with ``low_open``), naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
            (0.0 < value if low_open else 0.0 <= value) and value < 1.0):
        raise ValueError(f"{name} must be a number in {'(0' if low_open else '[0'}, 1), "
                         f"got {value!r}")
    return float(value)


def extract(batch: Tensor, extractor: FeatureFn | None = None, *, name: str = "batch",
            chunk: int = DEFAULT_CHUNK, device: torch.device | str | None = None) -> Tensor:
    """``extractor(batch)`` (identity if None) in chunks of ``chunk`` points, without
    gradients, flattened to an (n, d) tensor of finite values and moved to ``device``.

    A batch is any (n, ...) floating tensor: points (n, d), images (n, c, h, w)...
    """
    if not isinstance(batch, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(batch).__name__}")
    if batch.dim() == 0 or batch.shape[0] == 0:
        raise ValueError(f"{name} must have shape (n, ...) with n >= 1, got shape "
                         f"{tuple(batch.shape)}")
    if extractor is not None and not callable(extractor):
        raise TypeError(f"extractor must be callable (an nn.Module or a function), got "
                        f"{type(extractor).__name__}")
    check_int(chunk, "chunk", 1)
    with torch.no_grad():
        if extractor is None:
            feats = batch.detach()
        else:
            parts = [extractor(part) for part in batch.split(chunk)]
            if not all(isinstance(p, Tensor) for p in parts):
                raise TypeError("extractor must return a torch.Tensor")
            feats = torch.cat(parts)
        feats = feats.reshape(feats.shape[0], -1)
    feats = as_points(feats, f"features of {name}" if extractor is not None else name)
    return feats if device is None else feats.to(device)


class StreamMetric(nn.Module):
    """Base class: accumulates the features of real and generated batches.

    Args:
        extractor: maps a batch to features (an ``nn.Module``, registered as a submodule so that
            ``.to(device)`` moves it, or any callable); None uses the batch itself.
        device: where accumulated features live (``"cpu"`` to spare GPU memory); None keeps the
            extractor's output device.
        chunk: points per extractor call.

    Subclasses set ``sides`` (which of ``"real"``/``"fake"`` they accept) and implement
    :meth:`compute`.
    """

    #: which kinds of batches the metric accepts: real=True ("real"), real=False ("fake")
    sides: tuple[str, ...] = ("real", "fake")

    def __init__(self, extractor: FeatureFn | None = None, *,
                 device: torch.device | str | None = None, chunk: int = DEFAULT_CHUNK) -> None:
        super().__init__()
        if extractor is not None and not callable(extractor):
            raise TypeError(f"extractor must be callable (an nn.Module or a function), got "
                            f"{type(extractor).__name__}")
        self.extractor = extractor
        self.device = None if device is None else torch.device(device)
        self.chunk = check_int(chunk, "chunk", 1)
        self._feats: dict[str, list[Tensor]] = {"real": [], "fake": []}

    def features(self, batch: Tensor) -> Tensor:
        """The (n, d) features of one batch, on the accumulation device."""
        return extract(batch, self.extractor, chunk=self.chunk, device=self.device)

    def update(self, batch: Tensor, real: bool = False) -> None:
        """Add a batch of real (held-out / training) data or of generated samples."""
        if not isinstance(real, bool):
            raise TypeError(f"real must be a bool, got {type(real).__name__}")
        side = "real" if real else "fake"
        if side not in self.sides:
            raise ValueError(f"{type(self).__name__} takes generated samples only "
                             f"(real=False); got real=True")
        self._add(side, self.features(batch))

    def _add(self, side: str, feats: Tensor) -> None:
        held = self._feats[side]
        if held and feats.shape[1] != held[0].shape[1]:
            raise ValueError(f"batch has {feats.shape[1]} features, earlier {side} batches had "
                             f"{held[0].shape[1]}")
        held.append(feats)

    def gathered(self, side: str) -> Tensor:
        """All accumulated features of one side ("real" or "fake"), (n, d)."""
        held = self._feats[side]
        if not held:
            raise ValueError(f"{type(self).__name__}.compute() needs {side} batches: call "
                             f"update(batch, real={side == 'real'}) first")
        return torch.cat(held)

    def count(self, side: str) -> int:
        """Number of points accumulated on one side."""
        return sum(t.shape[0] for t in self._feats[side])

    def reset(self) -> None:
        """Forget every batch."""
        self._feats = {"real": [], "fake": []}

    def compute(self) -> dict[str, float]:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, batch: Tensor, real: bool = False) -> None:
        """Same as :meth:`update` (so a metric can be called like a module)."""
        self.update(batch, real)


__all__ = ["DEFAULT_CHUNK", "FeatureFn", "StreamMetric", "check_fraction", "check_int",
           "extract"]
