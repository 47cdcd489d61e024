"""The training configuration: one dataclass, TOML loading, command-line overrides.

Every field may come from a TOML file (``kdecore train --config run.toml``, keys are the field
names, ``-`` and ``_`` alike) and from a flag of the same name (``--lr-g 1e-4``); flags win.
Fields left at ``None`` take the objective's paper default (see :func:`resolve`).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10 with the tomli backport
    try:
        import tomli as tomllib  # type: ignore[no-redef]
    except ModuleNotFoundError:
        tomllib = None  # type: ignore[assignment]


def _field(default: Any, help: str, **kw: Any) -> Any:
    return dataclasses.field(default=default, metadata={"help": help, **kw})


@dataclasses.dataclass
class TrainConfig:
    """Everything a run needs. ``None`` means "the objective's default" (``kdecore train
    --list`` prints the objectives; each one's defaults come from its source paper)."""

    # -- what to train ---------------------------------------------------------------------
    objective: str = _field("kernel-gan", "GAN objective (kdecore train --list)")
    data: str = _field("ring8", "dataset name (kdecore train --list)")
    data_path: str | None = _field(None, "file (.npy/.pt) or image folder for data=file|folder")
    image_size: int | None = _field(None, "resize images to this size (8, 16 or 32)")
    steps: int = _field(2000, "generator updates; bandwidth schedules scale with it")
    seed: int = _field(0, "random seed (torch, numpy, python); rank r uses seed + r")
    out: str = _field("runs/default", "output folder (metrics.csv, samples.png, ...)")
    device: str = _field("auto", "auto | cpu | cuda | cuda:N")
    threads: int | None = _field(None, "torch CPU threads (None: 1 for vector data on CPU)")
    backend: str = _field("auto", "kdecore backend for every kernel sum (auto|torch|triton|keops)")
    # -- optimisation (None: the objective's paper default) --------------------------------
    batch_size: int | None = _field(None, "batch size per process")
    n_critic: int | None = _field(None, "critic updates per generator update")
    optimizer: str | None = _field(None, "adam | rmsprop | sgd")
    lr_g: float | None = _field(None, "generator learning rate")
    lr_d: float | None = _field(None, "critic / encoder learning rate")
    betas: tuple[float, ...] | None = _field(None, "Adam betas, e.g. 0.5,0.999")
    # -- models ----------------------------------------------------------------------------
    z_dim: int | None = _field(None, "latent dimension")
    g_hidden: tuple[int, ...] | None = _field(None, "MLP generator hidden sizes, e.g. 128,128")
    g_last_act: str | None = _field(None, "activation of the generator's last hidden layer")
    d_hidden: tuple[int, ...] | None = _field(None, "MLP critic hidden sizes")
    g_width: int | None = _field(None, "DCGAN generator filters in the last layer (64)")
    critic_width: int | None = _field(None, "DCGAN critic filters in the first layer (002: 16|64)")
    critic_features: int | None = _field(None, "critic top-layer size (002: 16; 256 for dist)")
    code_dim: int | None = _field(None, "autoencoder code size (GMMN-AE, feature Kernel GAN)")
    # -- objective hyper-parameters --------------------------------------------------------
    gp_weight: float | None = _field(None, "gradient-penalty weight λ")
    clip: float | None = _field(None, "WGAN weight clipping bound c")
    act_penalty: float | None = _field(None, "MMD GAN L2 penalty on critic activations")
    kernel: str | None = _field(None, "kernel: a kdecore preset (rq*, rbf-mix, dist, ...) or "
                                      "rbf:σ1,σ2,... / rq:α1,α2,...")
    generator_form: str = _field("alt", "f-GAN generator: alt (−E g_f(V)) | lower-bound")
    alpha: float = _field(0.5, "Poole et al. α of the GAN-α objective (α ∉ {0, 1})")
    ls_targets: tuple[float, ...] = _field((0.0, 1.0, 1.0), "LSGAN targets a, b, c")
    schedule: str | None = _field(None, "Kernel GAN bandwidth schedule (kdecore train --list)")
    sigmas: tuple[float, ...] | None = _field(None, "bandwidths of the schedule (anneal: one "
                                                     "phase each; constant/median: the first)")
    phi: float = _field(0.0, "Kernel GAN regularizer φ ≥ 0 (000 eq. 12)")
    recon_weight: float | None = _field(None, "autoencoder reconstruction weight λ")
    # -- options of the slides (001) --------------------------------------------------------
    pack: int = _field(1, "PacGAN: the critic sees this many samples packed together")
    unroll: int = _field(0, "unrolled GAN: k critic SGD steps inside each generator step")
    unroll_lr: float | None = _field(None, "step size of the unrolled critic steps (lr_d)")
    # -- KID-driven learning rate (002 §4.1) -------------------------------------------------
    kid_lr: bool = _field(False, "halve both learning rates after 3 failed relative KID tests")
    kid_every: int | None = _field(None, "test every N steps (None: steps // 75, 002 §5)")
    kid_lag: int | None = _field(None, "compare with the model N steps earlier (10 × every)")
    kid_patience: int = _field(3, "consecutive failures before halving")
    kid_level: float = _field(0.05, "significance level of the relative test")
    kid_samples: int = _field(500, "samples per model and held-out points per test")
    # -- outputs ---------------------------------------------------------------------------
    log_every: int | None = _field(None, "CSV/TensorBoard row every N steps (steps // 200)")
    sample_every: int | None = _field(None, "PNG every N steps (steps // 10)")
    checkpoint_every: int | None = _field(None, "checkpoint every N steps (steps // 10)")
    eval_samples: int = _field(2000, "generated samples for the final metrics and pictures")
    progress: bool = _field(True, "progress bar (rank 0)")
    tensorboard: bool = _field(True, "TensorBoard event files when tensorboard is installed")
    resume: bool = _field(False, "continue from out/checkpoint.pt when it exists")
    stop_at: int | None = _field(None, "end this invocation after this step (a later --resume "
                                       "continues; schedules still follow --steps)")

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


FIELDS: dict[str, dataclasses.Field] = {f.name: f for f in dataclasses.fields(TrainConfig)}

#: keys that may differ between a checkpoint and the run that resumes it.
RESUME_FREE = frozenset({"steps", "stop_at", "resume", "progress", "tensorboard", "log_every",
                         "sample_every", "checkpoint_every", "eval_samples", "out", "device",
                         "threads", "backend"})


def field_type(name: str) -> tuple[type, bool, bool]:
    """(base type, is a tuple, is optional) of a config field, from its annotation."""
    hint = typing.get_type_hints(TrainConfig)[name]
    args = typing.get_args(hint)
    optional = type(None) in args
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = next(a for a in args if a is not type(None))
    if typing.get_origin(hint) is tuple:
        return typing.get_args(hint)[0], True, optional
    return hint, False, optional


def convert(name: str, value: Any) -> Any:
    """A value for field ``name`` from TOML or a flag string, checked against its type."""
    base, is_tuple, optional = field_type(name)
    if value is None or (isinstance(value, str) and value.lower() == "none" and optional):
        if not optional:
            raise ValueError(f"{name} may not be None")
        return None
    if is_tuple:
        items = value.split(",") if isinstance(value, str) else value
        if isinstance(items, int | float) and not isinstance(items, bool):
            items = [items]
        if not isinstance(items, list | tuple):
            raise TypeError(f"{name} must be a list of numbers, got {value!r}")
        return tuple(_scalar(name, base, v) for v in items)
    return _scalar(name, base, value)


def _scalar(name: str, base: type, value: Any) -> Any:
    if base is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
            return value.lower() in ("true", "1", "yes")
        raise TypeError(f"{name} must be true or false, got {value!r}")
    if base is str:
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a string, got {value!r}")
        return value
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number, got {value!r}")
    try:
        out = base(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be {base.__name__}, got {value!r}") from None
    if base is int and isinstance(value, float) and value != out:
        raise TypeError(f"{name} must be an integer, got {value!r}")
    return out


def from_mapping(values: Mapping[str, Any], base: TrainConfig | None = None) -> TrainConfig:
    """``base`` (default: all defaults) with ``values`` applied; unknown keys are an error."""
    changes = {}
    for key, value in values.items():
        name = key.replace("-", "_")
        if name not in FIELDS:
            raise ValueError(f"unknown config key {key!r}; known: {', '.join(FIELDS)}")
        changes[name] = convert(name, value)
    return dataclasses.replace(base or TrainConfig(), **changes)


def load_toml(path: str | Path) -> dict[str, Any]:
    """The key/value pairs of a TOML config file (top level, or a ``[train]`` table)."""
    if tomllib is None:  # pragma: no cover
        raise RuntimeError("reading TOML needs Python 3.11 (tomllib) or `pip install tomli`")
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"config file {str(p)!r} does not exist")
    with p.open("rb") as fh:
        try:
            data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"config file {str(p)!r} is not valid TOML: {exc}") from None
    if "train" in data and isinstance(data["train"], dict):
        rest = {k: v for k, v in data.items() if k != "train"}
        data = {**rest, **data["train"]}
    return data


def _positive_int(cfg: TrainConfig, name: str, minimum: int = 1) -> None:
    v = getattr(cfg, name)
    if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < minimum):
        raise ValueError(f"{name} must be an int >= {minimum}, got {v!r}")


def _positive_float(cfg: TrainConfig, name: str, *, allow_zero: bool = False) -> None:
    v = getattr(cfg, name)
    if v is None:
        return
    ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and (
        v >= 0 if allow_zero else v > 0)
    if not ok:
        raise ValueError(f"{name} must be a finite number {'>= 0' if allow_zero else '> 0'}, "
                         f"got {v!r}")


def validate(cfg: TrainConfig) -> TrainConfig:
    """Check ranges that do not depend on the objective or the data."""
    for name in ("steps", "batch_size", "z_dim", "g_width", "critic_width", "critic_features",
                 "code_dim", "log_every", "sample_every", "checkpoint_every", "eval_samples",
                 "pack", "kid_every", "kid_lag", "kid_patience", "threads", "image_size"):
        _positive_int(cfg, name)
    _positive_int(cfg, "n_critic", 0)
    _positive_int(cfg, "unroll", 0)
    _positive_int(cfg, "kid_samples", 4)
    _positive_int(cfg, "seed", 0)
    _positive_int(cfg, "stop_at", 1)
    for name in ("lr_g", "lr_d", "clip", "unroll_lr"):
        _positive_float(cfg, name)
    for name in ("gp_weight", "act_penalty", "phi", "recon_weight"):
        _positive_float(cfg, name, allow_zero=True)
    if not (0.0 < cfg.kid_level < 1.0):
        raise ValueError(f"kid_level must be in (0, 1), got {cfg.kid_level!r}")
    if cfg.betas is not None and (len(cfg.betas) != 2 or not all(0 <= b < 1 for b in cfg.betas)):
        raise ValueError(f"betas must be two numbers in [0, 1), got {cfg.betas!r}")
    for name in ("g_hidden", "d_hidden"):
        v = getattr(cfg, name)
        if v is not None and (len(v) == 0 or any(h < 1 for h in v)):
            raise ValueError(f"{name} must be positive layer sizes, got {v!r}")
    if cfg.sigmas is not None and (len(cfg.sigmas) == 0 or any(
            not math.isfinite(s) or s <= 0 for s in cfg.sigmas)):
        raise ValueError(f"sigmas must be positive bandwidths, got {cfg.sigmas!r}")
    if cfg.generator_form not in ("alt", "lower-bound"):
        raise ValueError(f"generator_form must be 'alt' or 'lower-bound', "
                         f"got {cfg.generator_form!r}")
    if not math.isfinite(cfg.alpha) or cfg.alpha in (0.0, 1.0):
        raise ValueError(f"alpha must be finite and not 0 or 1 (the limits are the RKL and KL "
                         f"objectives), got {cfg.alpha!r}")
    if len(cfg.ls_targets) != 3:
        raise ValueError(f"ls_targets must be three numbers a, b, c, got {cfg.ls_targets!r}")
    if cfg.stop_at is not None and cfg.stop_at > cfg.steps:
        raise ValueError(f"stop_at ({cfg.stop_at}) must be <= steps ({cfg.steps})")
    return cfg


__all__ = ["FIELDS", "RESUME_FREE", "TrainConfig", "convert", "field_type", "from_mapping",
           "load_toml", "validate"]
