"""Independent-critic evaluation (SPEC §7; 003 §5).

After training, a fresh critic V (used only for evaluation) is trained from scratch to
maximize a variational lower bound of a divergence between held-out data x ~ P and samples
x̃ ~ Q_θ of the *fixed* generator; the bound it reaches estimates the divergence — the GAN
analogue of the held-out likelihood of maximum-likelihood training (003 §5; Danihelka et al.
2017; Im et al. 2018; Gulrajani et al. 2018). Both sets are split: the critic trains on one
part and the bound is reported on the other (``divergence``, not inflated by the critic's
overfitting) as well as on its training part (``train_divergence``).

Bounds (raw critic output V), the trainer's own: the f-GAN variational bounds
E_P g_f(V) − E_Q f*(g_f(V)) of :mod:`kdecore.train.objectives.fgan` (SPEC §5 table; Nowozin et
al. 2016) under the same names, plus the Wasserstein critic:

| name | estimates (P = held-out data, Q = samples) |
|---|---|
| kl, rkl | KL(P ‖ Q), KL(Q ‖ P) |
| pearson | Pearson χ²(P ‖ Q) |
| hellinger | squared Hellinger ∫(√p − √q)² |
| js | 2·JSD(P, Q) ∈ [0, 2 log 2] (Nowozin's JS f-divergence) |
| gan | 2·JSD(P, Q) − log 4 ∈ [−log 4, 0]: the GAN critic's value (001, 003) |
| wasserstein | E_P V − E_Q V, trained with gradient penalty λ E(‖∇V(x̂)‖ − 1)², λ = 10 → W₁(P, Q) |
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor, nn

from ..objectives.fgan import DIVERGENCES as F_DIVERGENCES
from ..objectives.fgan import variational_bound
from ..objectives.penalties import gradient_penalty
from .stream import DEFAULT_CHUNK, FeatureFn, StreamMetric, check_fraction, check_int

#: gradient-penalty weight of the Wasserstein critic (WGAN-GP, SPEC §5)
GP_WEIGHT = 10.0


def _f_bound(name: str) -> Callable[[Tensor, Tensor], Tensor]:
    return lambda v_real, v_fake: variational_bound(v_real, v_fake, name)


def _mean_gap(v_real: Tensor, v_fake: Tensor) -> Tensor:
    return v_real.mean() - v_fake.mean()


#: divergence name -> (lower bound from critic outputs on P and Q, gradient penalty weight)
DIVERGENCES: dict[str, tuple[Callable[[Tensor, Tensor], Tensor], float]] = {
    **{name: (_f_bound(name), 0.0) for name in F_DIVERGENCES},
    "wasserstein": (_mean_gap, GP_WEIGHT),
}


class CriticResult(NamedTuple):
    """Bound reached on the critic's evaluation split, on its training split, and the steps."""

    divergence: float
    train_divergence: float
    steps: int


def default_critic(in_features: int, hidden: int = 128) -> nn.Module:
    """A small MLP critic on flattened inputs: d → 128 → 128 → 1, LeakyReLU(0.2)."""
    return nn.Sequential(nn.Flatten(), nn.Linear(in_features, hidden), nn.LeakyReLU(0.2),
                         nn.Linear(hidden, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1))


def _build_critic(critic: nn.Module | Callable[[], nn.Module] | None, in_features: int,
                  seed: int) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if critic is None:
            return default_critic(in_features)
        if isinstance(critic, nn.Module):
            return copy.deepcopy(critic)
        if callable(critic):
            built = critic()
            if not isinstance(built, nn.Module):
                raise TypeError(f"critic() must return an nn.Module, got "
                                f"{type(built).__name__}")
            return built
    raise TypeError(f"critic must be an nn.Module, a function returning one, or None; got "
                    f"{type(critic).__name__}")


def _outputs(critic: nn.Module, x: Tensor) -> Tensor:
    v = critic(x)
    if v.shape[0] != x.shape[0] or v.numel() != x.shape[0]:
        raise ValueError(f"the critic must return one value per sample, got shape "
                         f"{tuple(v.shape)} for {x.shape[0]} samples")
    return v.reshape(-1)


def _check_samples(t: object, name: str, min_points: int = 4) -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if not t.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {t.dtype}")
    if t.dim() < 2 or t.shape[0] < min_points:
        raise ValueError(f"{name} must have shape (n, ...) with n >= {min_points} points, got "
                         f"shape {tuple(t.shape)}")
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contains NaN or Inf")
    return t.detach()


def _split(t: Tensor, fraction: float, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    perm = torch.randperm(t.shape[0], generator=gen).to(t.device)
    n_eval = round(t.shape[0] * fraction)
    return t[perm[n_eval:]], t[perm[:n_eval]]


def _bound_on(critic: nn.Module, bound: Callable[[Tensor, Tensor], Tensor], real: Tensor,
              fake: Tensor, chunk: int) -> float:
    with torch.no_grad():
        vr = torch.cat([_outputs(critic, c) for c in real.split(chunk)])
        vf = torch.cat([_outputs(critic, c) for c in fake.split(chunk)])
        return float(bound(vr.double(), vf.double()))


def independent_critic(real: Tensor, fake: Tensor, *, divergence: str = "js",
                       critic: nn.Module | Callable[[], nn.Module] | None = None,
                       steps: int = 500, batch_size: int = 128, lr: float = 1e-3,
                       eval_fraction: float = 0.5, seed: int = 0,
                       chunk: int = DEFAULT_CHUNK) -> CriticResult:
    """Train a fresh critic on held-out ``real`` vs fixed generated ``fake`` (003 §5) for
    ``steps`` Adam steps (β = (0.5, 0.999)) on minibatches of ``batch_size`` from each set,
    maximizing the ``divergence`` bound (see :data:`DIVERGENCES`), and report the bound.

    ``critic``: an untrained ``nn.Module`` mapping a batch to one value per sample (deep-copied,
    the argument is left untouched), a function building one, or None for
    :func:`default_critic` on flattened inputs. ``eval_fraction`` of each set is held out from
    the critic's training and the bound is reported there (0 reports it on the training sets).
    Deterministic for a given ``seed`` on CPU.
    """
    real = _check_samples(real, "real")
    fake = _check_samples(fake, "fake")
    if real.shape[1:] != fake.shape[1:]:
        raise ValueError(f"real and fake must have the same sample shape, got "
                         f"{tuple(real.shape[1:])} and {tuple(fake.shape[1:])}")
    if fake.device != real.device or fake.dtype != real.dtype:
        raise ValueError("real and fake must have the same device and dtype")
    if divergence not in DIVERGENCES:
        raise ValueError(f"unknown divergence {divergence!r}; known: {', '.join(DIVERGENCES)}")
    steps = check_int(steps, "steps", 1)
    batch_size = check_int(batch_size, "batch_size", 1)
    eval_fraction = check_fraction(eval_fraction, "eval_fraction")
    seed = check_int(seed, "seed", 0)
    if isinstance(lr, bool) or not isinstance(lr, int | float) or not lr > 0:
        raise ValueError(f"lr must be a number > 0, got {lr!r}")
    gen = torch.Generator().manual_seed(seed)
    bound, gp_weight = DIVERGENCES[divergence]
    r_train, r_eval = _split(real, eval_fraction, gen)
    f_train, f_eval = _split(fake, eval_fraction, gen)
    if eval_fraction > 0 and min(r_eval.shape[0], f_eval.shape[0]) < 2:
        raise ValueError("eval_fraction leaves fewer than 2 points of real or fake for "
                         "evaluation; pass more samples or a larger eval_fraction")
    net = _build_critic(critic, math.prod(real.shape[1:]), seed).to(device=real.device,
                                                                    dtype=real.dtype)
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=lr, betas=(0.5, 0.999))
    cuda = [real.device.index or 0] if real.device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):  # the penalty's interpolation draws
        torch.manual_seed(seed)
        for _ in range(steps):
            ir = torch.randint(r_train.shape[0], (batch_size,), generator=gen).to(real.device)
            jf = torch.randint(f_train.shape[0], (batch_size,), generator=gen).to(real.device)
            xr, xf = r_train[ir], f_train[jf]
            loss = -bound(_outputs(net, xr), _outputs(net, xf))
            if gp_weight:
                loss = loss + gp_weight * gradient_penalty(lambda t: _outputs(net, t), xr, xf)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    net.eval()
    train_value = _bound_on(net, bound, r_train, f_train, chunk)
    value = _bound_on(net, bound, r_eval, f_eval, chunk) if eval_fraction > 0 else train_value
    return CriticResult(value, train_value, steps)


class IndependentCritic(StreamMetric):
    """Independent-critic evaluation over streams: held-out data as ``real=True`` batches,
    generated samples as ``real=False``; ``compute()`` trains a fresh critic (arguments of
    :func:`independent_critic`) → ``{"critic_divergence", "critic_train_divergence"}``.

    Batches are kept as they are (the critic sees raw samples) unless an ``extractor`` is
    given, in which case the critic works on the (n, d) features.
    """

    def __init__(self, extractor: FeatureFn | None = None, *, divergence: str = "js",
                 critic: nn.Module | Callable[[], nn.Module] | None = None, steps: int = 500,
                 batch_size: int = 128, lr: float = 1e-3, eval_fraction: float = 0.5,
                 seed: int = 0, device: torch.device | str | None = None,
                 chunk: int = DEFAULT_CHUNK) -> None:
        super().__init__(extractor, device=device, chunk=chunk)
        if divergence not in DIVERGENCES:
            raise ValueError(f"unknown divergence {divergence!r}; known: "
                             f"{', '.join(DIVERGENCES)}")
        self._critic = critic
        self.kwargs = {"divergence": divergence, "steps": check_int(steps, "steps", 1),
                       "batch_size": check_int(batch_size, "batch_size", 1), "lr": lr,
                       "eval_fraction": check_fraction(eval_fraction, "eval_fraction"),
                       "seed": check_int(seed, "seed", 0)}

    def features(self, batch: Tensor) -> Tensor:
        if self.extractor is not None:
            return super().features(batch)
        batch = _check_samples(batch, "batch", 1)
        return batch if self.device is None else batch.to(self.device)

    def _add(self, side: str, feats: Tensor) -> None:
        held = self._feats[side]
        if held and feats.shape[1:] != held[0].shape[1:]:
            raise ValueError(f"batch has sample shape {tuple(feats.shape[1:])}, earlier "
                             f"{side} batches had {tuple(held[0].shape[1:])}")
        held.append(feats)

    def compute(self) -> dict[str, float]:
        r = independent_critic(self.gathered("real"), self.gathered("fake"),
                               critic=self._critic, chunk=self.chunk, **self.kwargs)
        return {"critic_divergence": r.divergence, "critic_train_divergence":
                r.train_divergence}


__all__ = ["DIVERGENCES", "GP_WEIGHT", "CriticResult", "IndependentCritic", "default_critic",
           "independent_critic"]
