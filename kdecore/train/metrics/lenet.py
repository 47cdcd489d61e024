"""A LeNet-style classifier for scikit-learn's 8×8 digits, the feature extractor of the digits
experiments (000 §3.3 used a LeNet for MNIST: EE, LS; its penultimate layer for KID/FID).

Trained at first use on ``sklearn.datasets.load_digits`` (no download: the data ships with
scikit-learn) with a fixed seed, in a few seconds on CPU, and cached in the user cache
directory: ``cache_dir`` argument, else ``$KDECORE_CACHE_DIR``, else
``$XDG_CACHE_HOME/kdecore``, else ``~/.cache/kdecore``. The weights file is saved with a
SHA-256 checksum and its held-out accuracy in a JSON sidecar; on load the checksum is verified
and a missing, mismatched or unreadable file is retrained (with a warning when it existed).

Architecture (input 1×8×8, pixels scaled to [0, 1]):
conv 3×3, 16 → ReLU → max-pool 2 → conv 3×3, 32 → ReLU → max-pool 2 → linear 128→64 → ReLU
(the 64 features) → linear 64→10 (logits).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: bump when the architecture or the training recipe changes (names the cache files)
VERSION = 1
NAME = f"digits_lenet_v{VERSION}"
#: training recipe: seed, epochs, batch size, Adam learning rate, weight decay, test fraction
RECIPE = {"seed": 0, "epochs": 15, "batch_size": 64, "lr": 5e-3, "weight_decay": 1e-4,
          "test_fraction": 0.25}
#: scikit-learn's digits have integer pixels in [0, 16]
DIGITS_MAX = 16.0
N_FEATURES = 64
N_CLASSES = 10


class DigitsLeNet(nn.Module):
    """LeNet-style CNN for 8×8 digits: ``forward(x)`` → logits (n, 10), ``features(x)`` → the
    penultimate layer (n, 64), ``probs(x)`` → softmax probabilities.

    ``x``: (n, 64), (n, 8, 8) or (n, 1, 8, 8) with pixel values in ``input_range`` (default
    [0, 1], i.e. scikit-learn's values / 16; pass (-1, 1) for a tanh generator's output).
    ``info`` holds the held-out accuracy and training time of the loaded weights.
    """

    def __init__(self, input_range: tuple[float, float] = (0.0, 1.0)) -> None:
        super().__init__()
        lo, hi = _check_range(input_range)
        self.input_range = (lo, hi)
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 2 * 2, N_FEATURES)
        self.fc2 = nn.Linear(N_FEATURES, N_CLASSES)
        self.info: dict = {}

    def _images(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or not x.is_floating_point():
            raise TypeError("x must be a floating-point torch.Tensor")
        if x.dim() == 2 and x.shape[1] == 64:
            x = x.reshape(-1, 1, 8, 8)
        elif x.dim() == 3 and x.shape[1:] == (8, 8):
            x = x.unsqueeze(1)
        elif not (x.dim() == 4 and x.shape[1:] == (1, 8, 8)):
            raise ValueError(f"x must have shape (n, 64), (n, 8, 8) or (n, 1, 8, 8), got "
                             f"{tuple(x.shape)}")
        lo, hi = self.input_range
        return (x.to(self.fc2.weight.dtype) - lo) / (hi - lo)

    def features(self, x: Tensor) -> Tensor:
        """The 64 penultimate activations (after ReLU), (n, 64)."""
        h = F.max_pool2d(F.relu(self.conv1(self._images(x))), 2)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)
        return F.relu(self.fc1(h.flatten(1)))

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.features(x))

    def probs(self, x: Tensor) -> Tensor:
        """Class probabilities softmax(logits), (n, 10)."""
        return torch.softmax(self(x), dim=1)


def _check_range(r: object) -> tuple[float, float]:
    if not isinstance(r, tuple | list) or len(r) != 2 or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in r) \
            or not r[0] < r[1]:
        raise ValueError(f"input_range must be a pair (lo, hi) with lo < hi, got {r!r}")
    return float(r[0]), float(r[1])


def default_cache_dir() -> Path:
    """``$KDECORE_CACHE_DIR``, else ``$XDG_CACHE_HOME/kdecore``, else ``~/.cache/kdecore``."""
    env = os.environ.get("KDECORE_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "kdecore"


def digits_split() -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """scikit-learn's digits as (x_train, y_train, x_test, y_test): x float32 (n, 64) in
    [0, 1], a stratified split with ``RECIPE["test_fraction"]`` held out (seed 0)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    xtr, xte, ytr, yte = train_test_split(data.data / DIGITS_MAX, data.target,
                                          test_size=RECIPE["test_fraction"], random_state=0,
                                          stratify=data.target)
    return (torch.tensor(xtr, dtype=torch.float32), torch.tensor(ytr),
            torch.tensor(xte, dtype=torch.float32), torch.tensor(yte))


def digits_class_frequencies() -> Tensor:
    """Class frequencies π of the LeNet's training split (float64, sums to 1): the reference
    distribution of the classifier score LS (000 §3.3)."""
    _, ytr, _, _ = digits_split()
    counts = torch.bincount(ytr, minlength=N_CLASSES).double()
    return counts / counts.sum()


def accuracy(model: nn.Module, x: Tensor, y: Tensor) -> float:
    """Fraction of ``x`` classified as ``y``."""
    with torch.no_grad():
        return float((model(x).argmax(1) == y).double().mean())


def train_digits_lenet() -> DigitsLeNet:
    """Train a :class:`DigitsLeNet` with :data:`RECIPE` (deterministic seed; a few seconds on
    CPU); ``info`` gets the held-out accuracy and the training time."""
    xtr, ytr, xte, yte = digits_split()
    start = time.perf_counter()
    threads = torch.get_num_threads()
    # tiny convolutions: one thread is fastest, and several oversubscribe a shared machine
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(RECIPE["seed"])
            model = DigitsLeNet()
            opt = torch.optim.Adam(model.parameters(), lr=RECIPE["lr"],
                                   weight_decay=RECIPE["weight_decay"])
            for _ in range(RECIPE["epochs"]):
                for idx in torch.randperm(xtr.shape[0]).split(RECIPE["batch_size"]):
                    loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
    finally:
        torch.set_num_threads(threads)
    model.eval()
    model.info = {"test_accuracy": accuracy(model, xte, yte),
                  "train_accuracy": accuracy(model, xtr, ytr),
                  "train_seconds": time.perf_counter() - start, "n_test": int(xte.shape[0]),
                  "version": VERSION, "recipe": dict(RECIPE), "torch": torch.__version__}
    return model


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save(model: DigitsLeNet, directory: Path) -> Path:
    """Write the weights and the JSON sidecar (checksum, accuracy) atomically; return the
    weights path."""
    directory.mkdir(parents=True, exist_ok=True)
    weights = directory / f"{NAME}.pt"
    with tempfile.TemporaryFile() as buf:
        torch.save(model.state_dict(), buf)
        buf.seek(0)
        data = buf.read()
    _atomic_write(weights, data)
    meta = dict(model.info, sha256=hashlib.sha256(data).hexdigest())
    _atomic_write(directory / f"{NAME}.json", json.dumps(meta, indent=1).encode())
    return weights


def _load_cached(directory: Path) -> DigitsLeNet | None:
    """The cached model if its weights match the recorded checksum, else None (with a warning
    when files exist but fail the check)."""
    weights, meta_path = directory / f"{NAME}.pt", directory / f"{NAME}.json"
    if not weights.exists() and not meta_path.exists():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        if sha256(weights) != meta["sha256"]:
            raise ValueError("SHA-256 checksum mismatch")
        model = DigitsLeNet()
        model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    except Exception as err:  # any damage means: retrain
        warnings.warn(f"cached digits LeNet in {directory} is unusable ({err}); retraining",
                      stacklevel=3)
        return None
    model.info = {k: v for k, v in meta.items() if k != "sha256"}
    return model.eval()


def load_digits_lenet(cache_dir: str | os.PathLike | None = None, *,
                      input_range: tuple[float, float] = (0.0, 1.0), retrain: bool = False,
                      device: torch.device | str = "cpu") -> DigitsLeNet:
    """The digits LeNet in eval mode with frozen weights: from the cache if its checksum
    verifies, else trained now (seconds) and cached. ``cache_dir`` overrides
    :func:`default_cache_dir`; ``retrain=True`` ignores the cache."""
    directory = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    lo, hi = _check_range(input_range)
    model = None if retrain else _load_cached(directory)
    if model is None:
        model = train_digits_lenet()
        save(model, directory)
    model.input_range = (lo, hi)
    model.requires_grad_(False)
    return model.to(device).eval()


__all__ = ["N_CLASSES", "N_FEATURES", "RECIPE", "VERSION", "DigitsLeNet", "accuracy",
           "default_cache_dir", "digits_class_frequencies", "digits_split",
           "load_digits_lenet", "save", "sha256", "train_digits_lenet"]
