"""Critic regularizers shared by WGAN-GP, MMD GAN and Cramér GAN (SPEC §5; 001; 002 §2.2, §5)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor


def interpolates(real: Tensor, fake: Tensor) -> Tensor:
    """x̂ = εx + (1 − ε)x̃ with ε ~ U[0, 1] per sample (Gulrajani et al. 2017), detached and
    requiring grad."""
    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device,
                     dtype=real.dtype)
    return (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)


def second_order_backend(backend: str) -> str:
    """The backend for kernel sums inside a gradient penalty, which differentiates them twice:
    ``"auto"`` becomes ``"torch"`` (the fused Triton and KeOps ops differentiate once; the
    penalty's minibatch-sized tiles are cheap on the PyTorch backend on any device). An
    explicit choice is kept, so a first-order backend raises and says so."""
    return "torch" if backend == "auto" else backend


def gradient_penalty(fn: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor:
    """E (‖∇_x̂ f(x̂)‖ − 1)² at random interpolates x̂ (SPEC §5, WGAN-GP; the MMD GAN and Cramér
    critics use it with their witness functions, 002 §2.2–2.3). Differentiable in f's
    parameters (create_graph)."""
    x_hat = interpolates(real, fake)
    out = fn(x_hat)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1.0) ** 2).mean()


def activation_penalty(activations: Sequence[Tensor]) -> Tensor:
    """Σ_layers mean(a²): the combined L2 penalty on the critic's activations (002 §5,
    footnote 19: weight 1 for rq*, 1e-4 for dist)."""
    return torch.stack([(a * a).mean() for a in activations]).sum()


__all__ = ["activation_penalty", "gradient_penalty", "interpolates", "second_order_backend"]
