"""Feature-space Kernel GAN (SPEC §5; 000 §3.2 eq. 14–15): the KDEs of the Kernel GAN
objective act on features f_ψ(x) of an encoder, learned adversarially,

    min_θ max_ψ  K_n(ψ, θ, σ, φ) − λ · reconstruction,

with f_ψ the encoder of an autoencoder regularized by its reconstruction loss on data and
generated samples (the set-up of Li et al. 2017 that 000 §3.2 adopts; λ = 8 as theirs).
Because the encoder sets the scale of the features, the default bandwidth is the median
heuristic of each batch of features (``--schedule median``); ``--schedule anneal`` gives the
data-space schedule instead.
"""

from __future__ import annotations

import torch

from .. import schedules
from .gmmn import reconstruction
from .kernel_gan import DEFAULTS, generator_losses, objective
from .registry import Losses, Objective, Step, register_objective


def _critic(s: Step) -> Losses:
    n = s.real.shape[0]
    codes, recon = s.critic(torch.cat([s.real, s.fake]))
    f_real, f_fake = codes[:n], codes[n:]
    sigma = schedules.resolve(s.sigma, f_real, f_fake)
    k_n, _, _ = objective(f_real, f_fake, sigma, s.cfg.phi, s.backend)
    rec = reconstruction(recon, torch.cat([s.real, s.fake]))
    loss = -k_n + s.cfg.recon_weight * rec
    return loss, {"d_loss": loss, "d_K_n": k_n, "recon": rec}


def _generator(s: Step) -> Losses:
    return generator_losses(s.autoencoder.encode(s.real), s.autoencoder.encode(s.fake), s)


register_objective(Objective(
    "kernel-gan-fs", "000 §3.2 eq. 14–15 (with Li et al. 2017)",
    "Kernel GAN on encoder features f_ψ trained adversarially, reconstruction weight λ = 8",
    "autoencoder", _generator, _critic,
    {**DEFAULTS, "lr_d": 3e-4, "n_critic": 1, "schedule": "median", "recon_weight": 8.0,
     "code_dim": 8},
    uses_bandwidth=True))
