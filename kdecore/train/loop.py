"""The training loop (SPEC §5–6): n_critic critic updates, then one generator update, per step.

``steps`` counts generator updates. Each step draws fresh batches with the global torch RNG
(seeded with ``seed + rank``; saved in checkpoints, so ``--resume`` continues exactly);
pictures, final metrics and the KID test draw their latent codes from separate generators and
never disturb that stream. Every loss is checked before its backward pass: a NaN/Inf stops the
run with :class:`NonFiniteLossError` naming the step and the loss, and the last checkpoint
(written before the bad step) is kept.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

import kdecore as kd

from . import checkpoint, distributed, models, schedules
from .config import RESUME_FREE, TrainConfig, validate
from .data import Dataset, load_dataset
from .kid_lr import KIDLearningRate
from .logs import METRICS_JSON, SAMPLES_PNG, RunLog, as_floats, save_samples
from .metrics.mixture import mixture_quality
from .objectives import Objective, Step, get_objective
from .objectives.mmd_gan import parse_kernel
from .options import pack, unrolled_critic

#: defaults for every objective, below the objective's own (paper) defaults.
GENERIC_DEFAULTS: dict[str, Any] = {
    "optimizer": "adam", "lr_g": 2e-4, "lr_d": 2e-4, "betas": (0.5, 0.999), "n_critic": 1,
    "batch_size": 64, "z_dim": 100, "g_hidden": (128, 128), "d_hidden": (128, 128),
    "g_width": 64, "critic_width": 64, "critic_features": 1, "code_dim": 16, "gp_weight": 0.0,
    "clip": 0.01, "act_penalty": 0.0, "recon_weight": 1.0, "schedule": "anneal",
    "kernel": "rq*",
}

#: optimizers by name: (params, lr, betas) -> optimizer.
OPTIMIZERS: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "adam": lambda params, lr, betas: torch.optim.Adam(params, lr=lr, betas=tuple(betas)),
    "rmsprop": lambda params, lr, betas: torch.optim.RMSprop(params, lr=lr),
    "sgd": lambda params, lr, betas: torch.optim.SGD(params, lr=lr),
}

#: seed offset of the generator of evaluation latents (pictures, final metrics, KID test).
EVAL_SEED_OFFSET = 1_000_003


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or Inf; ``step``, ``loss`` and ``value`` say which."""

    def __init__(self, step: int, loss: str, value: float, checkpoint_step: int | None) -> None:
        kept = (f"the last good checkpoint (step {checkpoint_step}) is kept"
                if checkpoint_step is not None else "no checkpoint had been written yet")
        super().__init__(f"step {step}: {loss} = {value} is not finite; training stopped, {kept}")
        self.step, self.loss, self.value = step, loss, value
        self.checkpoint_step = checkpoint_step


@dataclasses.dataclass
class TrainResult:
    """What :func:`train` returns: the resolved config, the final metrics (the content of
    metrics.json), the logged rows and the generator (rows and metrics on rank 0 only)."""

    config: TrainConfig
    metrics: dict[str, Any]
    history: list[dict[str, float]]
    generator: nn.Module
    out: Path
    sample: Callable[[int], Tensor]
    rank: int = 0


def resolve(cfg: TrainConfig) -> TrainConfig:
    """Fill every ``None`` field from the objective's defaults (then :data:`GENERIC_DEFAULTS`),
    derive the logging intervals from ``steps``, and check combinations."""
    validate(cfg)
    obj = get_objective(cfg.objective)
    changes = {k: v for k, v in {**GENERIC_DEFAULTS, **obj.defaults}.items()
               if getattr(cfg, k) is None}
    cfg = dataclasses.replace(cfg, **changes)
    every = max(1, cfg.steps // 75)
    derived = {
        "log_every": max(1, cfg.steps // 200), "sample_every": max(1, cfg.steps // 10),
        "checkpoint_every": max(1, cfg.steps // 10), "kid_every": every,
        "kid_lag": 10 * (cfg.kid_every or every), "unroll_lr": cfg.lr_d,
    }
    cfg = dataclasses.replace(cfg, **{k: v for k, v in derived.items()
                                      if getattr(cfg, k) is None})
    if obj.critic == "scalar":
        cfg = dataclasses.replace(cfg, critic_features=1)
    if cfg.optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {cfg.optimizer!r}; known: {', '.join(OPTIMIZERS)}")
    if (cfg.pack > 1 or cfg.unroll > 0) and not obj.has_critic:
        raise ValueError(f"pack and unroll apply to objectives with a trained critic; "
                         f"{obj.name!r} has critic={obj.critic!r}")
    if cfg.batch_size % cfg.pack or cfg.batch_size // cfg.pack < 2:
        raise ValueError(f"batch_size ({cfg.batch_size}) must be a multiple of pack "
                         f"({cfg.pack}) with at least 2 packed samples")
    if obj.uses_bandwidth:
        schedules.bandwidth_at(cfg.schedule, 0, cfg.steps, cfg.sigmas)
    if obj.uses_kernel:
        parse_kernel(cfg.kernel)
    if cfg.g_last_act is not None:
        models.activation(cfg.g_last_act)
    if obj.critic != "none" and cfg.n_critic < 1:
        raise ValueError(f"{obj.name!r} trains a critic: n_critic must be >= 1")
    return validate(cfg)


def _seed_all(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


@contextlib.contextmanager
def frozen(module: nn.Module | None) -> Iterator[None]:
    """Parameters of ``module`` do not require grad inside the block (generator updates)."""
    if module is None:
        yield
        return
    flags = [p.requires_grad for p in module.parameters()]
    for p in module.parameters():
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, f in zip(module.parameters(), flags, strict=True):
            p.requires_grad_(f)


@contextlib.contextmanager
def cpu_threads(n: int | None) -> Iterator[None]:
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class Trainer:
    """Builds data, networks and optimizers from a config and runs the loop (:meth:`run`)."""

    def __init__(self, cfg: TrainConfig) -> None:
        self.cfg = cfg = resolve(cfg)
        self.obj: Objective = get_objective(cfg.objective)
        self.ctx = distributed.setup(cfg.device)
        self.device = self.ctx.device
        self.out = Path(cfg.out)
        self.start, self.elapsed, self.saved_step = 0, 0.0, None
        try:
            _seed_all(cfg.seed + self.ctx.rank)
            self.data: Dataset = load_dataset(cfg)
            self.eval_rng = torch.Generator(self.device).manual_seed(
                cfg.seed + EVAL_SEED_OFFSET + 1)
            self._build()
            if cfg.resume and (self.out / checkpoint.CHECKPOINT).exists():
                self._restore(checkpoint.load(self.out / checkpoint.CHECKPOINT))
            elif cfg.resume and self.ctx.is_main:
                print(f"kdecore train: no checkpoint in {self.out}, starting from step 0")
        except BaseException:
            self.close()
            raise

    # -- construction -----------------------------------------------------------------------
    def _build(self) -> None:
        cfg, obj, shape = self.cfg, self.obj, self.data.shape
        gen_shape = (cfg.code_dim,) if obj.code_space else shape
        self.G = models.generator(cfg.z_dim, gen_shape, hidden=cfg.g_hidden,
                                  last_act=cfg.g_last_act, width=cfg.g_width).to(self.device)
        self.D: nn.Module | None = None
        if obj.has_critic:
            self.D = models.critic(shape, cfg.critic_features, hidden=cfg.d_hidden,
                                   width=cfg.critic_width, pack=cfg.pack)
        elif obj.critic == "autoencoder":
            self.D = models.autoencoder(shape, cfg.code_dim, hidden=cfg.d_hidden,
                                        width=cfg.critic_width)
        if self.D is not None:
            self.D = self.D.to(self.device)
        self.G_train = distributed.wrap(self.G, self.ctx)
        self.D_train = None if self.D is None else distributed.wrap(self.D, self.ctx)
        make = OPTIMIZERS[cfg.optimizer]
        self.opt_g = make(self.G.parameters(), cfg.lr_g, cfg.betas)
        self.opt_d = None if self.D is None else make(self.D.parameters(), cfg.lr_d, cfg.betas)
        self.kid = None
        if cfg.kid_lr:
            self.kid = KIDLearningRate(cfg.kid_every, cfg.kid_lag, cfg.kid_patience,
                                       cfg.kid_level, cfg.kid_samples)

    @property
    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [o for o in (self.opt_g, self.opt_d) if o is not None]

    # -- checkpoints --------------------------------------------------------------------------
    def _state(self, step: int) -> dict[str, Any]:
        return {
            "step": step, "elapsed": self.elapsed, "config": self.cfg.to_dict(),
            "generator": self.G.state_dict(),
            "critic": None if self.D is None else self.D.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": None if self.opt_d is None else self.opt_d.state_dict(),
            "kid": None if self.kid is None else self.kid.state_dict(),
            "eval_rng": self.eval_rng.get_state(),
        }

    def _save(self, step: int) -> None:
        rngs = distributed.gather(checkpoint.rng_state(), self.ctx)
        if self.ctx.is_main:
            checkpoint.save(self.out / checkpoint.CHECKPOINT, {**self._state(step), "rng": rngs})
        self.saved_step = step

    def _restore(self, state: dict[str, Any]) -> None:
        saved = state["config"]
        now = self.cfg.to_dict()
        diff = [k for k in now if k not in RESUME_FREE and _norm(saved.get(k)) != _norm(now[k])]
        if diff:
            raise ValueError(f"--resume: the checkpoint in {self.out} was made with other "
                             f"settings: " + ", ".join(f"{k}={saved.get(k)!r} (now {now[k]!r})"
                                                       for k in diff))
        self.G.load_state_dict(state["generator"])
        if self.D is not None:
            self.D.load_state_dict(state["critic"])
            self.opt_d.load_state_dict(state["opt_d"])
        self.opt_g.load_state_dict(state["opt_g"])
        if self.kid is not None and state["kid"] is not None:
            self.kid.load_state_dict(state["kid"])
        self.eval_rng.set_state(state["eval_rng"])
        rngs = state["rng"]
        checkpoint.set_rng_state(rngs[self.ctx.rank % len(rngs)])
        self.start = self.saved_step = int(state["step"])
        self.elapsed = float(state["elapsed"])

    # -- sampling ----------------------------------------------------------------------------
    def sample(self, n: int, generator: nn.Module | None = None,
               rng: torch.Generator | None = None) -> Tensor:
        """n samples in data space, in eval mode, with latents from ``rng`` (default: a fresh
        generator seeded from ``seed``, so every picture shows the same latents), never from
        the training RNG stream."""
        g = generator if generator is not None else self.G
        if rng is None:
            rng = torch.Generator(self.device).manual_seed(self.cfg.seed + EVAL_SEED_OFFSET)
        modules = [m for m in (g, self.D if self.obj.code_space else None) if m is not None]
        modes = [m.training for m in modules]
        for m in modules:
            m.eval()
        out = []
        with torch.no_grad():
            for i in range(0, n, 4096):
                z = torch.randn(min(4096, n - i), self.cfg.z_dim, device=self.device,
                                generator=rng)
                x = g(z)
                out.append(self.D.decode(x) if self.obj.code_space else x)
        for m, mode in zip(modules, modes, strict=True):
            m.train(mode)
        return torch.cat(out)

    def _latent(self, n: int) -> Tensor:
        return torch.randn(n, self.cfg.z_dim, device=self.device)

    # -- one update each -----------------------------------------------------------------------
    def _check(self, loss: Tensor, name: str, step: int) -> None:
        bad = not bool(torch.isfinite(loss.detach()))
        if distributed.any_rank(bad, self.ctx):
            where = name if bad else f"{name} (on another rank)"
            value = float(loss.detach()) if bad else float("nan")
            raise NonFiniteLossError(step, where, value, self.saved_step)

    def _critic_step(self, i: int, sigma: schedules.Bandwidth | None) -> dict[str, Tensor]:
        cfg, n = self.cfg, self.cfg.batch_size
        real = self.data.sample(n, self.device)
        with torch.no_grad():
            fake_all = self.G(self._latent(2 * n if self.obj.two_fakes else n))
        fake, fake2 = (fake_all.chunk(2) if self.obj.two_fakes else (fake_all, None))
        s = Step(pack(real, cfg.pack), pack(fake, cfg.pack), cfg, i, critic=self.D_train,
                 autoencoder=self.D, fake2=None if fake2 is None else pack(fake2, cfg.pack),
                 sigma=sigma)
        loss, logs = self.obj.critic_loss(s)
        self._check(loss, "critic loss", i + 1)
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        if self.obj.clip_weights:
            with torch.no_grad():
                for p in self.D.parameters():
                    p.clamp_(-cfg.clip, cfg.clip)
        return logs

    def _generator_step(self, i: int, sigma: schedules.Bandwidth | None) -> dict[str, Tensor]:
        cfg, n = self.cfg, self.cfg.batch_size
        real = self.data.sample(n, self.device)
        fake_all = self.G_train(self._latent(2 * n if self.obj.two_fakes else n))
        fake, fake2 = (fake_all.chunk(2) if self.obj.two_fakes else (fake_all, None))
        s = Step(pack(real, cfg.pack), pack(fake, cfg.pack), cfg, i, critic=self.D,
                 autoencoder=self.D, fake2=None if fake2 is None else pack(fake2, cfg.pack),
                 sigma=sigma)
        with frozen(self.D):
            if cfg.unroll:
                s = dataclasses.replace(s, critic=unrolled_critic(
                    self.D, self.obj, s, cfg.unroll, cfg.unroll_lr,
                    cfg.clip if self.obj.clip_weights else None))
            loss, logs = self.obj.generator_loss(s)
            self._check(loss, "generator loss", i + 1)
            self.opt_g.zero_grad(set_to_none=True)
            loss.backward()
        self.opt_g.step()
        return logs

    # -- the loop ------------------------------------------------------------------------------
    def run(self) -> TrainResult:
        cfg, main = self.cfg, self.ctx.is_main
        end = cfg.stop_at or cfg.steps
        log = RunLog(self.out, enabled=main, total=cfg.steps, start=self.start,
                     progress=cfg.progress, tensorboard=cfg.tensorboard)
        t0 = time.perf_counter() - self.elapsed
        try:
            with kd.options(check_finite=False):
                for i in range(self.start, end):
                    values = self.train_step(i)
                    step = i + 1
                    self.elapsed = time.perf_counter() - t0
                    log.advance()
                    if step % cfg.log_every == 0 or step == end:
                        row = as_floats(values)
                        row.update(lr_g=self.opt_g.param_groups[0]["lr"],
                                   time_s=self.elapsed)
                        if self.opt_d is not None:
                            row["lr_d"] = self.opt_d.param_groups[0]["lr"]
                        log.log(step, row)
                    if main and step % cfg.sample_every == 0:
                        self._picture(self.out / "samples" / f"step_{step:07d}.png", step)
                    if step % cfg.checkpoint_every == 0 or step == end:
                        self._save(step)
        except NonFiniteLossError as exc:
            if main:
                _write_json(self.out / METRICS_JSON, {
                    "status": "diverged", "objective": cfg.objective, "data": cfg.data,
                    "step": exc.step, "loss": exc.loss, "value": exc.value,
                    "checkpoint_step": exc.checkpoint_step})
            raise
        finally:
            log.close()
        metrics: dict[str, Any] = {"status": "stopped" if end < cfg.steps else "finished",
                                   "step": end}
        if end == cfg.steps and main:
            metrics = self._final_metrics(log.rows)
            _write_json(self.out / METRICS_JSON, metrics)
        return TrainResult(cfg, metrics, log.rows, self.G, self.out, self.sample, self.ctx.rank)

    def train_step(self, i: int) -> dict[str, Tensor]:
        cfg = self.cfg
        sigma = (schedules.bandwidth_at(cfg.schedule, i, cfg.steps, cfg.sigmas)
                 if self.obj.uses_bandwidth else None)
        values: dict[str, Any] = {}
        for _ in range(cfg.n_critic if self.D is not None else 0):
            values.update(self._critic_step(i, sigma))
        values.update(self._generator_step(i, sigma))
        if self.kid is not None:
            values.update(self._kid_step(i + 1))
        return values

    def _kid_step(self, step: int) -> dict[str, float]:
        """002 §4.1: rank 0 runs the relative test, every rank applies its verdict."""
        old = self.kid.snapshot(step, self.G)
        if old is None:
            return {}
        p = None
        if self.ctx.is_main:
            p = self.kid.test(old, self.G, lambda g, n: self.sample(n, g, self.eval_rng),
                              self.data.heldout)
        return self.kid.record(distributed.broadcast(p, self.ctx), self.optimizers)

    def _picture(self, path: Path, step: int) -> None:
        fake = self.sample(min(self.cfg.eval_samples, 2000))
        real = self.data.heldout[:2000]
        title = f"{self.cfg.objective} on {self.cfg.data}, step {step}"
        save_samples(path, fake, real, title)
        save_samples(self.out / SAMPLES_PNG, fake, real, title)

    def _final_metrics(self, rows: list[dict[str, float]]) -> dict[str, Any]:
        cfg = self.cfg
        samples = self.sample(cfg.eval_samples)
        metrics: dict[str, Any] = {
            "status": "finished", "objective": cfg.objective, "data": cfg.data,
            "steps": cfg.steps, "seed": cfg.seed, "wall_time_s": round(self.elapsed, 3),
            "final": rows[-1] if rows else {},
        }
        if self.data.centers is not None:
            metrics.update(mixture_quality(samples.flatten(1), self.data.centers,
                                           self.data.std))
        elif self.data.is_image:
            held = self.data.heldout.flatten(1).to(self.device)
            size = min(held.shape[0], samples.shape[0], 1000)
            mean, std = kd.kid(samples.flatten(1), held, subsets=10, subset_size=size,
                               generator=torch.Generator().manual_seed(0))
            metrics.update(kid_pixels=float(mean), kid_pixels_std=float(std))
        finite = bool(torch.isfinite(samples).all())
        metrics["samples_finite"] = finite
        if finite:
            title = f"{cfg.objective} on {cfg.data}, step {cfg.steps}"
            save_samples(self.out / SAMPLES_PNG, samples[:2000], self.data.heldout[:2000], title)
        return metrics

    def close(self) -> None:
        distributed.teardown(self.ctx)


def _norm(v: Any) -> Any:
    return list(v) if isinstance(v, tuple | list) else v


def _write_json(path: Path, obj: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=_json_default) + "\n")
    os.replace(tmp, path)


def _json_default(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    raise TypeError(f"not JSON serializable: {type(v).__name__}")


def default_threads(cfg: TrainConfig) -> int | None:
    """1 thread for vector data on the CPU (tiny matrices: extra threads only contend), the
    torch default otherwise; ``cfg.threads`` when given."""
    if cfg.threads is not None:
        return cfg.threads
    on_cpu = cfg.device == "cpu" or (cfg.device == "auto" and not torch.cuda.is_available())
    vector = cfg.data not in ("digits", "folder", "file")
    return 1 if on_cpu and vector else None


def train(config: TrainConfig | dict[str, Any] | None = None, **overrides: Any) -> TrainResult:
    """Train a GAN as ``config`` says (a :class:`TrainConfig`, a dict of its fields, or
    keyword arguments), writing metrics.csv, samples.png, checkpoint.pt and metrics.json to
    ``config.out``. Returns a :class:`TrainResult`. Raises :class:`NonFiniteLossError` when
    a loss becomes NaN/Inf.

    >>> from kdecore.train import train
    >>> result = train(objective="kernel-gan", data="ring8", steps=3000, out="runs/ring8")
    >>> result.metrics["modes_covered"], result.metrics["hq_fraction"]
    """
    from .config import from_mapping

    if config is None:
        config = TrainConfig()
    elif isinstance(config, dict):
        config = from_mapping(config)
    elif not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig or a dict, got {type(config).__name__}")
    if overrides:
        config = from_mapping(overrides, config)
    with cpu_threads(default_threads(config)):
        trainer = Trainer(config)
        try:
            return trainer.run()
        finally:
            trainer.close()


__all__ = ["GENERIC_DEFAULTS", "OPTIMIZERS", "NonFiniteLossError", "TrainResult", "Trainer",
           "resolve", "train"]
