"""What the benchmarks run: kdecore's backends and the peers, one registry per task.

Every entry maps an implementation name to an :class:`Impl`; a benchmark file parametrizes over
a registry, so adding a peer is adding an entry. The peers are written the way their users
write them (dense PyTorch: ``cdist`` + ``exp``; KeOps: ``LazyTensor``; GeomLoss:
``SamplesLoss``; scikit-learn: ``KernelDensity.score_samples``; SciPy: ``gaussian_kde.logpdf``;
torchmetrics: ``KernelInceptionDistance.compute``).
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

import kdecore as kd
from kdecore.families import RBF_MIX_SIGMAS, RQ_MIX_ALPHAS


@dataclass(frozen=True)
class Impl:
    """One implementation of a task.

    make(case) returns the zero-argument closure that is timed. ``kind`` is "kdecore" or
    "peer"; ``keops`` marks implementations that compile KeOps formulas on first call;
    ``dense_bytes(case)`` estimates the m×n memory of a dense implementation (None: O(m + n));
    ``devices`` lists where it runs; ``requires`` is the module it needs; ``estimate`` names
    what it returns when that differs from kdecore's default ("biased/2" for GeomLoss).
    """

    kind: str
    make: Callable[[dict], Callable[[], object]]
    keops: bool = False
    dense_bytes: Callable[[dict], int] | None = None
    devices: tuple[str, ...] = ("cpu", "cuda")
    requires: tuple[str, ...] = ()
    estimate: str = "default"
    extra: dict = field(default_factory=dict)


def missing(impl: Impl) -> str | None:
    """Why ``impl`` cannot run here (a missing package or backend), or None."""
    for mod in impl.requires:
        if importlib.util.find_spec(mod) is None:
            return f"{mod} is not installed"
    backend = impl.extra.get("backend")
    if backend is not None:
        reason = kd.backend_status()[backend]
        if reason is not None:
            return reason
    return None


def _bytes(case: dict, matrices: float) -> int:
    return int(matrices * case["m"] * case["n"] * case["x"].element_size())


# -- shared dense / LazyTensor kernel matrices -------------------------------------------------

def dense_sqdist(x: Tensor, y: Tensor) -> Tensor:
    return torch.cdist(x, y).square()


def _rbf_mix(x: Tensor, y: Tensor) -> Tensor:
    r2 = dense_sqdist(x, y)
    return sum(torch.exp(r2 * (-0.5 / s**2)) for s in RBF_MIX_SIGMAS)


def _rq_mix(x: Tensor, y: Tensor) -> Tensor:
    r2 = dense_sqdist(x, y)
    return sum((1 + r2 / (2 * a)) ** (-a) for a in RQ_MIX_ALPHAS)


#: kernel name -> dense kernel matrix of (x, y) for the case's σ (the peers' formulas, SPEC §1);
#: "rbf" has σ = √d (the case's "sigma"), the mixtures are 002's.
DENSE: dict[str, Callable[[Tensor, Tensor, float], Tensor]] = {
    "rbf": lambda x, y, s: torch.exp(dense_sqdist(x, y) * (-0.5 / s**2)),
    "rbf-mix": lambda x, y, s: _rbf_mix(x, y),
    "rq-mix": lambda x, y, s: _rq_mix(x, y),
    "energy": lambda x, y, s: -0.5 * torch.cdist(x, y),
}

#: kernel name -> the same kernel as a KeOps LazyTensor of the squared distance.
LAZY: dict[str, Callable] = {
    "rbf": lambda r2, s: (r2 * (-0.5 / s**2)).exp(),
    "rbf-mix": lambda r2, s: sum((r2 * (-0.5 / t**2)).exp() for t in RBF_MIX_SIGMAS),
    "rq-mix": lambda r2, s: sum((1 + r2 / (2 * a)).power(-a) for a in RQ_MIX_ALPHAS),
    "energy": lambda r2, s: -0.5 * r2.sqrt(),
}

#: kernel name -> the kdecore kernel for the case's σ.
KDECORE_KERNELS: dict[str, Callable[[float], kd.Kernel]] = {
    "rbf": lambda s: kd.RBF(s),
    "rbf-mix": lambda s: kd.kernel("rbf-mix"),
    "rq-mix": lambda s: kd.kernel("rq-mix"),
    "energy": lambda s: kd.Distance(1.0, z0=None),
}

#: k(x, x) of each kernel (what a dense or KeOps peer subtracts for the unbiased estimate).
DIAGONAL = {"rbf": 1.0, "rbf-mix": float(len(RBF_MIX_SIGMAS)),
            "rq-mix": float(len(RQ_MIX_ALPHAS)), "energy": 0.0}
#: the size of each kernel's values on the benchmark data (for absolute tolerances).
SCALE = {"rbf": 1.0, "rbf-mix": 6.0, "rq-mix": 5.0, "energy": 5.0}


def _lazy(x: Tensor, y: Tensor):
    from pykeops.torch import LazyTensor

    return ((LazyTensor(x[:, None, :]) - LazyTensor(y[None, :, :])) ** 2).sum(-1)


def _unbiased(sxx: Tensor, syy: Tensor, sxy: Tensor, m: int, n: int, diag: float) -> Tensor:
    return ((sxx - m * diag) / (m * (m - 1)) + (syy - n * diag) / (n * (n - 1))
            - 2 * sxy / (m * n))


# -- task: RBF kernel sums R_i = Σ_j k(x_i, y_j) ------------------------------------------------

def _kd_sums(backend: str) -> Impl:
    return Impl("kdecore", lambda c: lambda: kd.kernel_sum(c["x"], c["y"], kd.RBF(c["sigma"]),
                                                              backend=backend),
                keops=backend == "keops", extra={"backend": backend},
                devices=("cuda",) if backend == "triton" else ("cpu", "cuda"))


SUMS: dict[str, Impl] = {
    **{f"kdecore:{b}": _kd_sums(b) for b in ("torch", "keops", "triton")},
    "dense-torch": Impl("peer", lambda c: lambda: DENSE["rbf"](c["x"], c["y"], c["sigma"]).sum(
        1), dense_bytes=lambda c: _bytes(c, 2)),
    "keops-lazytensor": Impl("peer", lambda c: lambda: LAZY["rbf"](
        _lazy(c["x"], c["y"]), c["sigma"]).sum(1)[:, 0], keops=True, requires=("pykeops",)),
}


# -- task: MMD² (unbiased) for the kernels of 002 ------------------------------------------------

def _kd_mmd(backend: str) -> Impl:
    return Impl("kdecore", lambda c: lambda: kd.mmd2(
        c["x"], c["y"], KDECORE_KERNELS[c["kernel"]](c["sigma"]), backend=backend),
                keops=backend == "keops", extra={"backend": backend},
                devices=("cuda",) if backend == "triton" else ("cpu", "cuda"))


def _dense_mmd(c: dict) -> Callable[[], Tensor]:
    x, y, f, s = c["x"], c["y"], DENSE[c["kernel"]], c["sigma"]
    m, n, diag = x.shape[0], y.shape[0], DIAGONAL[c["kernel"]]
    return lambda: _unbiased(f(x, x, s).sum(), f(y, y, s).sum(), f(x, y, s).sum(), m, n, diag)


def _lazy_mmd(c: dict) -> Callable[[], Tensor]:
    x, y, f, s = c["x"], c["y"], LAZY[c["kernel"]], c["sigma"]
    m, n, diag = x.shape[0], y.shape[0], DIAGONAL[c["kernel"]]
    return lambda: _unbiased(f(_lazy(x, x), s).sum(1).sum(), f(_lazy(y, y), s).sum(1).sum(),
                             f(_lazy(x, y), s).sum(1).sum(), m, n, diag)


def _geomloss(backend: str) -> Impl:
    def make(c):
        from geomloss import SamplesLoss

        loss = {"rbf": "gaussian", "energy": "energy"}[c["kernel"]]
        fn = SamplesLoss(loss, blur=c["sigma"], backend=backend)
        return lambda: fn(c["x"], c["y"])

    return Impl("peer", make, keops=backend == "online", requires=("geomloss",),
                dense_bytes=(lambda c: _bytes(c, 3)) if backend == "tensorized" else None,
                estimate="geomloss", extra={"kernels": ("rbf", "energy")})


MMD: dict[str, Impl] = {
    **{f"kdecore:{b}": _kd_mmd(b) for b in ("torch", "keops", "triton")},
    "dense-torch": Impl("peer", _dense_mmd, dense_bytes=lambda c: _bytes(c, 3)),
    "keops-lazytensor": Impl("peer", _lazy_mmd, keops=True, requires=("pykeops",)),
    "geomloss-tensorized": _geomloss("tensorized"),
    "geomloss-online": _geomloss("online"),
}


def mmd_reference(c: dict, estimate: str) -> float:
    """kdecore's float64 torch-backend value of what an implementation estimates: unbiased
    MMD², or for GeomLoss ½ MMD²_biased (gaussian) / MMD²_biased (energy, k = −½‖x − y‖)."""
    x, y = c["x"].double().cpu(), c["y"].double().cpu()
    k = KDECORE_KERNELS[c["kernel"]](c["sigma"])
    if estimate == "geomloss":
        v = kd.mmd2(x, y, k, estimator="biased", backend="torch")
        return float(v) * (0.5 if c["kernel"] == "rbf" else 1.0)
    return float(kd.mmd2(x, y, k, backend="torch"))


# -- task: Gaussian log-KDE at query points -------------------------------------------------------

def _kd_kde(backend: str) -> Impl:
    return Impl("kdecore", lambda c: lambda: kd.kde(c["x"], c["y"], c["sigma"], log=True,
                                                    backend=backend),
                keops=backend == "keops", extra={"backend": backend},
                devices=("cuda",) if backend == "triton" else ("cpu", "cuda"))


def _log_norm(c: dict) -> float:
    n, d = c["y"].shape
    return -math.log(n) - 0.5 * d * math.log(2 * math.pi * c["sigma"] ** 2)


def _sklearn_kde(c: dict):
    from sklearn.neighbors import KernelDensity

    data, query = c["y"].double().cpu().numpy(), c["x"].double().cpu().numpy()
    return lambda: KernelDensity(bandwidth=c["sigma"]).fit(data).score_samples(query)


def _scipy_kde(c: dict):
    from scipy.stats import gaussian_kde

    # the data are whitened to identity sample covariance (see bench data), so bw_method = σ
    # makes SciPy's kernel covariance σ²·I: the same isotropic estimator
    data, query = c["y"].double().cpu().numpy().T, c["x"].double().cpu().numpy().T
    return lambda: gaussian_kde(data, bw_method=c["sigma"]).logpdf(query)


def _lazy_kde(c: dict):
    x, y, s = c["x"], c["y"], c["sigma"]
    return lambda: (_lazy(x, y) * (-0.5 / s**2)).logsumexp(1)[:, 0] + _log_norm(c)


def _dense_kde(c: dict):
    x, y, s = c["x"], c["y"], c["sigma"]
    return lambda: torch.logsumexp(dense_sqdist(x, y) * (-0.5 / s**2), 1) + _log_norm(c)


KDE: dict[str, Impl] = {
    **{f"kdecore:{b}": _kd_kde(b) for b in ("torch", "keops", "triton")},
    "sklearn-KernelDensity": Impl("peer", _sklearn_kde, devices=("cpu",),
                                  requires=("sklearn",)),
    "scipy-gaussian_kde": Impl("peer", _scipy_kde, devices=("cpu",), requires=("scipy",),
                               dense_bytes=lambda c: _bytes(c, 1)),
    "keops-lazytensor": Impl("peer", _lazy_kde, keops=True, requires=("pykeops",)),
    "dense-torch": Impl("peer", _dense_kde, dense_bytes=lambda c: _bytes(c, 2)),
}


def kde_reference(c: dict) -> Tensor:
    return kd.kde(c["x"].double().cpu(), c["y"].double().cpu(), c["sigma"], log=True,
                  backend="torch")


def as_tensor(out) -> Tensor:
    """A result as a float64 CPU tensor (numpy arrays from scikit-learn and SciPy)."""
    if isinstance(out, np.ndarray):
        return torch.from_numpy(out).double()
    if isinstance(out, tuple):
        return torch.stack([as_tensor(o) for o in out])
    return out.detach().double().cpu()


# -- task: KID on 2048-d features ---------------------------------------------------------------

def _kd_kid(backend: str) -> Impl:
    def make(c):
        subsets = None if c["estimator"] == "full" else c["subsets"]
        g = torch.Generator().manual_seed(0)
        return lambda: kd.kid(c["x"], c["y"], subsets=subsets, subset_size=c["subset_size"],
                              generator=g, backend=backend)

    return Impl("kdecore", make, keops=backend == "keops", extra={"backend": backend},
                devices=("cuda",) if backend == "triton" else ("cpu", "cuda"))


def _torchmetrics_kid(c: dict):
    from torchmetrics.image.kid import KernelInceptionDistance

    full = c["estimator"] == "full"
    # features are passed through an identity "extractor": only the KID computation is timed
    metric = KernelInceptionDistance(feature=torch.nn.Identity(), subsets=1 if full else
                                     c["subsets"], subset_size=c["x"].shape[0] if full else
                                     c["subset_size"]).to(c["x"].device)
    metric.update(c["x"], real=True)
    metric.update(c["y"], real=False)
    # the class's own compute: the instance's is wrapped by a cache that returns the first
    # result again without computing
    return lambda: KernelInceptionDistance.compute(metric)


def _tm_bytes(c: dict) -> int:
    size = c["m"] if c["estimator"] == "full" else c["subset_size"]
    return int(4 * size * size * c["x"].element_size())


KID: dict[str, Impl] = {
    **{f"kdecore:{b}": _kd_kid(b) for b in ("torch", "keops", "triton")},
    "torchmetrics-KID": Impl("peer", _torchmetrics_kid, requires=("torchmetrics",),
                             dense_bytes=_tm_bytes),
}


# -- task: backward of MMD² w.r.t. both sets ----------------------------------------------------

def _grad_of(loss: Callable[[Tensor, Tensor], Tensor], c: dict):
    x = c["x"].detach().clone().requires_grad_()
    y = c["y"].detach().clone().requires_grad_()
    return lambda: torch.autograd.grad(loss(x, y), [x, y])


def _kd_backward(backend: str) -> Impl:
    return Impl("kdecore", lambda c: _grad_of(
        lambda x, y: kd.mmd2(x, y, KDECORE_KERNELS[c["kernel"]](c["sigma"]), backend=backend),
        c),
        keops=backend == "keops", extra={"backend": backend},
        devices=("cuda",) if backend == "triton" else ("cpu", "cuda"))


def _geomloss_backward(backend: str) -> Impl:
    base = _geomloss(backend)

    def make(c):
        from geomloss import SamplesLoss

        fn = SamplesLoss({"rbf": "gaussian", "energy": "energy"}[c["kernel"]],
                         blur=c["sigma"], backend=backend)
        return _grad_of(fn, c)

    return Impl("peer", make, keops=base.keops, requires=base.requires,
                dense_bytes=base.dense_bytes, estimate="geomloss", extra=base.extra)


def _loss_of(make_value: Callable[[dict], Callable[[], Tensor]], c: dict):
    return _grad_of(lambda x, y: make_value({**c, "x": x, "y": y})(), c)


BACKWARD: dict[str, Impl] = {
    **{f"kdecore:{b}": _kd_backward(b) for b in ("torch", "keops", "triton")},
    "dense-torch": Impl("peer", lambda c: _loss_of(_dense_mmd, c),
                        dense_bytes=lambda c: _bytes(c, 6)),
    "keops-lazytensor": Impl("peer", lambda c: _loss_of(_lazy_mmd, c), keops=True,
                             requires=("pykeops",)),
    "geomloss-tensorized": _geomloss_backward("tensorized"),
    "geomloss-online": _geomloss_backward("online"),
}


def mmd_grad_reference(c: dict, estimate: str) -> tuple[Tensor, Tensor]:
    x = c["x"].double().cpu().requires_grad_()
    y = c["y"].double().cpu().requires_grad_()
    k = KDECORE_KERNELS[c["kernel"]](c["sigma"])
    if estimate == "geomloss":
        half = 0.5 if c["kernel"] == "rbf" else 1.0
        v = half * kd.mmd2(x, y, k, estimator="biased", backend="torch")
    else:
        v = kd.mmd2(x, y, k, backend="torch")
    return torch.autograd.grad(v, [x, y])
