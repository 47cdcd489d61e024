"""Thin ``nn.Module`` wrappers over the functional API (like GeomLoss' ``SamplesLoss``)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .estimators import kde as _kde
from .estimators import mmd2
from .families import Kernel
from .families import kernel as as_kernel
from .validation import as_points


class MMDLoss(nn.Module):
    """``MMDLoss(kernel, estimator)(x, y)`` = :func:`kdecore.mmd2` (SPEC §4.1), a scalar.

    Tensor parameters of the kernel (bandwidths, alphas) are registered as ``nn.Parameter``
    when they require grad, so an optimizer over ``module.parameters()`` learns them.
    """

    def __init__(self, kernel: Kernel | str = "rbf-mix", estimator: str = "unbiased", *,
                 backend: str = "auto") -> None:
        super().__init__()
        self.kernel = as_kernel(kernel)
        self.estimator = estimator
        self.backend = backend
        for i, t in enumerate(self.kernel.tensors()):
            if isinstance(t, nn.Parameter):
                self.register_parameter(f"kernel_param_{i}", t)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return mmd2(x, y, self.kernel, estimator=self.estimator, backend=self.backend)

    def extra_repr(self) -> str:
        return f"kernel={self.kernel!r}, estimator={self.estimator!r}, backend={self.backend!r}"


class KDE(nn.Module):
    """A Gaussian KDE of fixed data (SPEC §3): ``forward(q)`` is the density p̂(q),
    ``log_prob(q)`` / ``score_samples(q)`` its logarithm (finite everywhere).

    ``bandwidth``: float, 0-d tensor, or a rule name (computed once on ``data``).
    ``learn_bandwidth=True`` makes log σ an ``nn.Parameter``.
    """

    def __init__(self, data: Tensor, bandwidth: float | Tensor | str = "scott", *,
                 weights: Tensor | None = None, learn_bandwidth: bool = False,
                 backend: str = "auto") -> None:
        super().__init__()
        data = as_points(data, "data", allow_1d=True)
        self.register_buffer("data", data)
        self.register_buffer("weights", weights)
        from .estimators.kde import resolve_bandwidth

        sigma = resolve_bandwidth(bandwidth, data).detach().to(data.dtype)
        if learn_bandwidth:
            self.log_sigma = nn.Parameter(torch.log(sigma))
        else:
            self.register_buffer("log_sigma", torch.log(sigma))
        self.backend = backend

    @property
    def bandwidth(self) -> Tensor:
        return torch.exp(self.log_sigma)

    def forward(self, query: Tensor) -> Tensor:
        return _kde(query, self.data, self.bandwidth, weights=self.weights, backend=self.backend)

    def log_prob(self, query: Tensor) -> Tensor:
        return _kde(query, self.data, self.bandwidth, weights=self.weights, log=True,
                    backend=self.backend)

    score_samples = log_prob
