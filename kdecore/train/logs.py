"""Run outputs: metrics.csv, TensorBoard events, a tqdm progress bar, sample pictures.

Only rank 0 makes a :class:`RunLog` with ``enabled=True``; the others get a silent one.
Pictures use matplotlib's Agg backend: scatter plots for 1-D/2-D data (a histogram with a rug
for 1-D, data in blue and samples in green as in 000 Fig. 1; the first two coordinates of
higher-dimensional vectors) and image grids for images.
"""

from __future__ import annotations

import csv
import math
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

METRICS_CSV = "metrics.csv"
METRICS_JSON = "metrics.json"
SAMPLES_PNG = "samples.png"


class RunLog:
    """CSV rows (one per logging step), TensorBoard scalars and the progress bar."""

    def __init__(self, out: Path, *, enabled: bool, total: int, start: int, progress: bool,
                 tensorboard: bool) -> None:
        self.out, self.enabled = out, enabled
        self.rows: list[dict[str, float]] = []
        self.fields: list[str] | None = None
        self.bar = None
        self.writer = None
        if not enabled:
            return
        out.mkdir(parents=True, exist_ok=True)
        self._load_csv(start)
        if progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, initial=start, dynamic_ncols=True, file=sys.stderr,
                            desc="train")
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard not installed: CSV only
                self.writer = None
            else:
                purge = start + 1 if start else None
                self.writer = SummaryWriter(str(out / "tb"), purge_step=purge)

    def _load_csv(self, start: int) -> None:
        """Keep the rows of a resumed run up to its checkpoint step; start fresh otherwise."""
        path = self.out / METRICS_CSV
        if start == 0 or not path.exists():
            if path.exists():
                path.unlink()
            return
        with path.open(newline="") as fh:
            reader = csv.DictReader(fh)
            self.fields = list(reader.fieldnames or [])
            self.rows = [{k: float(v) for k, v in r.items() if v != ""} for r in reader
                         if float(r["step"]) <= start]
        self._rewrite()

    def _rewrite(self) -> None:
        path = self.out / METRICS_CSV
        tmp = path.with_name(f".{path.name}.tmp")
        with tmp.open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=self.fields or ["step"], extrasaction="ignore")
            w.writeheader()
            w.writerows(self.rows)
        os.replace(tmp, path)

    def log(self, step: int, values: dict[str, float]) -> None:
        if not self.enabled:
            return
        row = {"step": float(step), **values}
        self.rows.append(row)
        new = [k for k in row if k not in (self.fields or [])]
        if new:  # first row, or a value that appears later (e.g. the KID test's p-value)
            self.fields = [*(self.fields or []), *new]
            self._rewrite()
        else:
            with (self.out / METRICS_CSV).open("a", newline="") as fh:
                csv.DictWriter(fh, fieldnames=self.fields, extrasaction="ignore").writerow(row)
        if self.writer is not None:
            for k, v in values.items():
                self.writer.add_scalar(k, v, step)
        if self.bar is not None:
            shown = {k: f"{v:.4g}" for k, v in values.items() if k not in ("time_s",)}
            self.bar.set_postfix(shown, refresh=False)

    def advance(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.writer is not None:
            self.writer.flush()
            self.writer.close()


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _grid(images: Tensor, ncol: int) -> np.ndarray:
    """(N, C, H, W) in [−1, 1] → an (rows·(H+1), ncol·(W+1), C) array in [0, 1]."""
    n, c, h, w = images.shape
    rows = math.ceil(n / ncol)
    canvas = np.ones((rows * (h + 1) + 1, ncol * (w + 1) + 1, c), dtype=np.float32)
    x = ((images.clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).cpu().numpy()
    for i in range(n):
        r, q = divmod(i, ncol)
        canvas[1 + r * (h + 1):1 + r * (h + 1) + h, 1 + q * (w + 1):1 + q * (w + 1) + w] = x[i]
    return canvas


def save_samples(path: Path, fake: Tensor, real: Tensor, title: str = "") -> None:
    """A picture of generated samples (and data, for vectors), written atomically."""
    plt = _pyplot()
    fake, real = fake.detach().float().cpu(), real.detach().float().cpu()
    if fake.dim() == 4:
        n = min(64, fake.shape[0])
        canvas = _grid(fake[:n], 8)
        fig, ax = plt.subplots(figsize=(5, 5 * canvas.shape[0] / canvas.shape[1]))
        ax.imshow(canvas[..., 0] if canvas.shape[2] == 1 else canvas,
                  cmap="gray" if canvas.shape[2] == 1 else None, vmin=0, vmax=1,
                  interpolation="nearest")
        ax.axis("off")
    else:
        fake, real = fake.flatten(1), real.flatten(1)
        fig, ax = plt.subplots(figsize=(5, 5) if fake.shape[1] > 1 else (6, 3.5))
        if fake.shape[1] == 1:
            bins = np.linspace(min(real.min(), fake.min()), max(real.max(), fake.max()), 80)
            ax.hist(real[:, 0].numpy(), bins, density=True, alpha=0.5, color="tab:blue",
                    label="data")
            ax.hist(fake[:, 0].numpy(), bins, density=True, alpha=0.5, color="tab:green",
                    label="samples")
            ax.plot(fake[:, 0].numpy(), np.zeros(fake.shape[0]), "|", color="tab:green",
                    alpha=0.3)
        else:
            ax.scatter(real[:, 0], real[:, 1], s=2, c="tab:blue", alpha=0.5, label="data")
            ax.scatter(fake[:, 0], fake[:, 1], s=2, c="tab:green", alpha=0.5, label="samples")
            ax.set_aspect("equal", adjustable="datalim")
        ax.legend(loc="upper right", fontsize=7, markerscale=4)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)


def as_floats(values: dict[str, Any]) -> dict[str, float]:
    """Tensors and numbers as Python floats (one device sync for all tensors)."""
    tensors = {k: v for k, v in values.items() if isinstance(v, Tensor)}
    out = {k: float(v) for k, v in values.items() if not isinstance(v, Tensor)}
    if tensors:
        dev = next(iter(tensors.values())).device
        stacked = torch.stack([t.detach().reshape(()).double().to(dev)
                               for t in tensors.values()]).cpu()
        out.update(zip(tensors, stacked.tolist(), strict=True))
    return out


__all__ = ["METRICS_CSV", "METRICS_JSON", "SAMPLES_PNG", "RunLog", "as_floats", "save_samples"]
