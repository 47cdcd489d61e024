"""Options of the slides (SPEC §6; 001) that combine with every critic-based objective:
PacGAN packing and unrolled critic steps."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.func import functional_call

from .objectives.registry import Objective, Step


def pack(x: Tensor, m: int) -> Tensor:
    """PacGAN(m) (Lin et al. 2018; 001): m consecutive samples become one critic input —
    vectors (B, d) → (B/m, m·d), images (B, C, H, W) → (B/m, m·C, H, W) (stacked channels)."""
    if m == 1:
        return x
    if x.shape[0] % m:
        raise ValueError(f"PacGAN: the batch of {x.shape[0]} samples is not a multiple of "
                         f"pack={m}; choose batch_size divisible by pack")
    if x.dim() == 4:
        return x.reshape(x.shape[0] // m, m * x.shape[1], *x.shape[2:])
    return x.reshape(x.shape[0] // m, -1)


def functional_critic(critic: nn.Module, params: dict[str, Tensor]) -> Callable[..., Tensor]:
    """``critic`` evaluated with the parameter tensors ``params`` (torch.func)."""
    buffers = dict(critic.named_buffers())

    def call(x: Tensor, with_activations: bool = False):
        kwargs = {"with_activations": True} if with_activations else {}
        return functional_call(critic, {**params, **buffers}, (x,), kwargs)

    return call


def unrolled_critic(critic: nn.Module, objective: Objective, step: Step, k: int, lr: float,
                    clip: float | None = None) -> Callable[..., Tensor]:
    """The critic after k differentiable SGD steps on ``objective.critic_loss`` (Metz et al.
    2016, "Unrolled GANs"; 001): θ_{t+1} = θ_t − lr ∇θ L_D(θ_t; X, G(Z)), with the generator
    batch *not* detached, so that a generator loss evaluated with θ_k differentiates through
    the k updates (fixed minibatch, as Metz et al. §3). ``clip`` applies WGAN's clamp after
    each step. The critic module itself is not changed."""
    if objective.critic_loss is None:
        raise ValueError(f"unroll: objective {objective.name!r} has no critic to unroll")
    params = {n: p.detach().requires_grad_(True) for n, p in critic.named_parameters()}
    for _ in range(k):
        loss, _ = objective.critic_loss(_with_critic(step, functional_critic(critic, params)))
        grads = torch.autograd.grad(loss, list(params.values()), create_graph=True)
        params = {n: p - lr * g for (n, p), g in zip(params.items(), grads, strict=True)}
        if clip is not None:
            params = {n: p.clamp(-clip, clip) for n, p in params.items()}
    return functional_critic(critic, params)


def _with_critic(step: Step, critic: Callable[..., Tensor]) -> Step:
    return dataclasses.replace(step, critic=critic)


__all__ = ["functional_critic", "pack", "unrolled_critic"]
