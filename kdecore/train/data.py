"""Datasets of the trainer (SPEC §8): Gaussian mixtures, scikit-learn's digits, user files.

Every dataset is a :class:`Dataset`: ``sample(n)`` draws a batch with the global torch RNG (so a
checkpoint's RNG state makes a resumed run exact), ``heldout`` is a fixed sample for
evaluation, and a mixture exposes its mode ``centers`` and per-coordinate ``std`` for the
mode-coverage metrics (SPEC §7). Nothing is downloaded.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .config import TrainConfig

#: points of the fixed held-out sample of a mixture (and of the digits split)
HELDOUT = 2000
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


@dataclasses.dataclass
class Dataset:
    """A data source. ``shape`` is one sample's shape: ``(d,)`` for vectors, ``(C, H, W)`` for
    images in [−1, 1]."""

    name: str
    shape: tuple[int, ...]
    sample: Callable[[int, torch.device], Tensor]
    heldout: Tensor
    centers: Tensor | None = None
    std: float | None = None

    @property
    def is_image(self) -> bool:
        return len(self.shape) == 3

    @property
    def dim(self) -> int:
        return math.prod(self.shape)


# -- Gaussian mixtures -----------------------------------------------------------------------
def mixture(name: str, centers: Tensor, std: float, weights: Tensor | None = None) -> Dataset:
    """Samples μ_c + std·ε with c ~ weights (uniform by default), ε ~ N(0, I)."""
    centers = centers.to(torch.float32)
    probs = None if weights is None else (weights / weights.sum()).to(torch.float32)

    def sample(n: int, device: torch.device) -> Tensor:
        c = centers.to(device)
        if probs is None:
            idx = torch.randint(0, c.shape[0], (n,), device=device)
        else:
            idx = torch.multinomial(probs.to(device), n, replacement=True)
        return c[idx] + std * torch.randn(n, c.shape[1], device=device)

    g = torch.Generator().manual_seed(12345)
    if probs is None:
        idx = torch.randint(0, centers.shape[0], (HELDOUT,), generator=g)
    else:
        idx = torch.multinomial(probs, HELDOUT, replacement=True, generator=g)
    held = centers[idx] + std * torch.randn(HELDOUT, centers.shape[1], generator=g)
    return Dataset(name, (centers.shape[1],), sample, held, centers, std)


def ring8(cfg: TrainConfig) -> Dataset:
    """8 Gaussians on a circle of radius 2, std 0.02 (000 Fig. 1; Metz et al. 2016)."""
    a = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
    return mixture("ring8", torch.stack([2 * torch.cos(a), 2 * torch.sin(a)], 1), 0.02)


def grid25(cfg: TrainConfig) -> Dataset:
    """25 Gaussians on the grid {−4, −2, 0, 2, 4}², std 0.05 (VEEGAN; PacGAN §3.1)."""
    v = torch.arange(-4.0, 5.0, 2.0)
    return mixture("grid25", torch.cartesian_prod(v, v), 0.05)


def mix1d(cfg: TrainConfig) -> Dataset:
    """1-D mixture of two Gaussians, 0.7·N(−2, 0.5²) + 0.3·N(2, 0.5²): fit by one Gaussian,
    KL/JS spread over both modes, reverse KL and G_ALT pick one (004 Fig. 1; 003)."""
    return mixture("mix1d", torch.tensor([[-2.0], [2.0]]), 0.5, torch.tensor([0.7, 0.3]))


def mix1d5(cfg: TrainConfig) -> Dataset:
    """1-D mixture of 5 equal Gaussians at −4, −2, 0, 2, 4, std 0.1 (mode counting in 1-D)."""
    return mixture("mix1d-5", torch.arange(-4.0, 5.0, 2.0)[:, None], 0.1)


# -- image and tensor data ----------------------------------------------------------------------
def tensor_dataset(name: str, x: Tensor, heldout: int) -> Dataset:
    """Uniform draws from the rows of ``x`` (N, ...), the last ``heldout`` rows held out
    (all rows are trained on when there are fewer than 4·heldout)."""
    if x.shape[0] < 2:
        raise ValueError(f"{name}: need at least 2 samples, got {x.shape[0]}")
    held = x[-heldout:] if x.shape[0] >= 4 * heldout else x
    train = x[:-heldout] if x.shape[0] >= 4 * heldout else x
    cache: dict[torch.device, Tensor] = {}

    def sample(n: int, device: torch.device) -> Tensor:
        if device not in cache:
            cache[device] = train.to(device)
        t = cache[device]
        return t[torch.randint(0, t.shape[0], (n,), device=device)]

    return Dataset(name, tuple(x.shape[1:]), sample, held)


def _resize(x: Tensor, size: int | None) -> Tensor:
    if size is None or (x.shape[-1] == size and x.shape[-2] == size):
        return x
    if size not in (8, 16, 32):
        raise ValueError(f"image_size must be 8, 16 or 32, got {size}")
    return torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear",
                                           align_corners=False, antialias=True).clamp(-1, 1)


def _as_images(x: Tensor, name: str) -> Tensor:
    if x.dim() == 3:
        x = x[:, None]
    if x.shape[1] not in (1, 3) or x.shape[2] != x.shape[3]:
        raise ValueError(f"{name}: images must have shape (N, H, W) or (N, C, H, W) with C in "
                         f"(1, 3) and H = W, got {tuple(x.shape)}")
    return x


def digits(cfg: TrainConfig) -> Dataset:
    """scikit-learn's 8×8 digits (1797 images shipped with the package), values 0..16
    rescaled to [−1, 1]; 297 held out."""
    from sklearn.datasets import load_digits

    x = torch.from_numpy(load_digits().images.astype(np.float32)) / 8.0 - 1.0
    x = x[torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(0))]
    return tensor_dataset("digits", _resize(_as_images(x, "digits"), cfg.image_size), 297)


def _load_array(path: Path) -> Tensor:
    if path.suffix == ".npy":
        arr = np.load(path, allow_pickle=False)
        return torch.from_numpy(np.ascontiguousarray(arr))
    if path.suffix == ".pt":
        obj = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(obj, Tensor):
            raise ValueError(f"{path}: a .pt data file must hold one tensor, got "
                             f"{type(obj).__name__}")
        return obj
    raise ValueError(f"data_path {str(path)!r} must end in .npy or .pt")


def tensor_file(cfg: TrainConfig) -> Dataset:
    """A tensor from ``data_path`` (.npy or .pt): (N,) or (N, d) points, or images (N, H, W) /
    (N, C, H, W); integer images are scaled from 0..255 to [−1, 1], float ones used as they are.
    """
    path = _require_path(cfg, "file")
    x = _load_array(path)
    if x.dim() == 1:
        x = x[:, None]
    if x.dim() > 4:
        raise ValueError(f"{path}: data must have shape (N,), (N, d) or an image shape, got "
                         f"{tuple(x.shape)}")
    integer = not x.is_floating_point()
    x = x.to(torch.float32)
    if integer:
        x = x / 127.5 - 1.0
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{path}: data contains NaN or Inf")
    if x.dim() >= 3:
        x = _resize(_as_images(x, str(path)), cfg.image_size)
    held = min(1000, max(x.shape[0] // 5, 1))
    return tensor_dataset(path.stem, x, held)


def image_folder(cfg: TrainConfig) -> Dataset:
    """Every image in ``data_path`` (recursively), resized to ``image_size`` (default 32),
    grayscale when all are grayscale, RGB otherwise, in [−1, 1]."""
    from PIL import Image

    root = _require_path(cfg, "folder")
    if not root.is_dir():
        raise ValueError(f"data_path {str(root)!r} must be a folder of images for data=folder")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if len(files) < 2:
        raise ValueError(f"data_path {str(root)!r} holds {len(files)} images; need at least 2")
    size = cfg.image_size or 32
    images = [Image.open(p) for p in files]
    mode = "L" if all(im.mode in ("L", "1", "I;16") for im in images) else "RGB"
    arrays = [np.asarray(im.convert(mode).resize((size, size), Image.BILINEAR), dtype=np.float32)
              for im in images]
    x = torch.from_numpy(np.stack(arrays)) / 127.5 - 1.0
    x = x[:, None] if mode == "L" else x.permute(0, 3, 1, 2).contiguous()
    held = min(1000, max(x.shape[0] // 5, 1))
    return tensor_dataset(root.name, x, held)


def _require_path(cfg: TrainConfig, kind: str) -> Path:
    if not cfg.data_path:
        raise ValueError(f"data={kind} needs data_path (--data-path)")
    p = Path(cfg.data_path).expanduser()
    if not p.exists():
        raise ValueError(f"data_path {str(p)!r} does not exist")
    return p


#: dataset name -> (loader, source).
DATASETS: dict[str, tuple[Callable[[TrainConfig], Dataset], str]] = {
    "ring8": (ring8, "8 Gaussians, radius 2, std 0.02 (000 Fig. 1; Metz et al. 2016)"),
    "grid25": (grid25, "25 Gaussians on {−4..4}², std 0.05 (VEEGAN; PacGAN §3.1)"),
    "mix1d": (mix1d, "1-D 0.7·N(−2,0.5²) + 0.3·N(2,0.5²) (004 Fig. 1; 003)"),
    "mix1d-5": (mix1d5, "1-D, 5 Gaussians at −4..4, std 0.1"),
    "digits": (digits, "scikit-learn's 8×8 digits, 1797 images, [−1, 1]"),
    "file": (tensor_file, "a .npy/.pt tensor at --data-path: (N, d) or images"),
    "folder": (image_folder, "an image folder at --data-path (PIL), resized to --image-size"),
}


def load_dataset(cfg: TrainConfig) -> Dataset:
    """The dataset ``cfg.data`` names."""
    try:
        loader, _ = DATASETS[cfg.data]
    except KeyError:
        raise ValueError(f"unknown dataset {cfg.data!r}; known: {', '.join(DATASETS)}") from None
    return loader(cfg)


__all__ = ["DATASETS", "Dataset", "load_dataset", "mixture", "tensor_dataset"]
