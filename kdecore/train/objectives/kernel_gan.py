"""Kernel GAN (SPEC §5; 000 §2.5 eq. 12, Algorithm 1): the discriminator is the closed-form
KDE ratio d*(x) = (p̂(x) + φ)/(p̂(x) + p̂_θ(x) + 2φ) (000 eq. 9), so only the generator is
trained; it minimizes

    K_n = (1/n) Σ log[(p̂(X_i)+φ)/(p̂(X_i)+p̂_θ(X_i)+2φ)]
        + (1/n) Σ log[(p̂_θ(G(Z_i))+φ)/(p̂(G(Z_i))+p̂_θ(G(Z_i))+2φ)]

(→ −log 4 when the distributions agree), with Gaussian KDEs of bandwidth σ annealed
0.8 → 0.025 in six equal phases (000 Fig. 1), all through ``kd.kernel_gan_objective`` (log-space
KDEs on kdecore's fused log-sum-exp). φ = 0 is the paper's practical default.

Network (000 §3.1): Z ~ N(0, I_100), generator 128-relu-128-relu-128-tanh, then linear.
The paper's main text gives no batch size, optimizer or learning rate (its appendix is not
in our sources); the defaults here (batch 256, Adam lr 3e-4, β = (0.5, 0.999)) were chosen on
ring8, where they cover all 8 modes with 83.5 % of samples within 3 std of a mode after 3 000
steps and 93.6 % after 20 000 (seed 0; lr 1e-3 also covers them but oscillates between σ
phases). The paper ran 10 000 iterations per σ phase; here the six phases split ``--steps``.
"""

from __future__ import annotations

import torch

import kdecore as kd

from .. import schedules
from .registry import Losses, Objective, Step, register_objective


def objective(real, fake, sigma, phi: float = 0.0, backend: str = "auto"):
    """(K_n, JSD-F, JSD-S) on flattened samples (000 eq. 12)."""
    return kd.kernel_gan_objective(real.flatten(1), fake.flatten(1), sigma, phi=phi,
                                   backend=backend)


def generator_losses(real, fake, s: Step) -> Losses:
    """K_n at the step's bandwidth, with JSD-F, JSD-S and σ to log (also used on features by
    the feature-space variant)."""
    sigma = schedules.resolve(s.sigma, real, fake)
    k_n, jsd_f, jsd_s = objective(real, fake, sigma, s.cfg.phi, s.backend)
    return k_n, {"g_loss": k_n, "jsd_f": jsd_f, "jsd_s": jsd_s,
                 "sigma": torch.as_tensor(sigma, dtype=torch.float64)}


#: 000 §3.1 network (Z ~ N(0, I_100), 128-relu-128-relu-128-tanh) and the chosen optimizer.
DEFAULTS = {"optimizer": "adam", "lr_g": 3e-4, "betas": (0.5, 0.999), "n_critic": 0,
            "batch_size": 256, "z_dim": 100, "g_hidden": (128, 128, 128), "g_last_act": "tanh",
            "schedule": "anneal"}

register_objective(Objective(
    "kernel-gan", "000 §2.5, Algorithm 1",
    "closed-form KDE-ratio discriminator; G minimizes K_n (eq. 12), σ annealed 0.8 → 0.025",
    "none", lambda s: generator_losses(s.real, s.fake, s), None, DEFAULTS,
    uses_bandwidth=True))

__all__ = ["DEFAULTS", "generator_losses", "objective"]
