"""Fit one Gaussian to a two-component 1-D mixture with each generator objective (004 Fig. 1; 003).

    python python/fit_1d_divergences.py --out runs/fit_1d_divergences [--quick]

Data: the trainer's ``mix1d``, q = 0.7·N(−2, 0.5²) + 0.3·N(2, 0.5²). Model: p = N(μ, s²), the
generator x = μ + s·z with learned μ and log s, started at N(0, 1). Critic: the standard GAN
critic (an MLP trained with ``gan.critic_step``), so e^{V(x)} ≈ q(x)/p(x) (004 eq. 11).
Objectives f_G (SPEC §5; 004 eq. 8, Appendix A), from the trainer's registry: ``poole-kl``
(forward KL(q‖p)), ``poole-rkl`` (reverse KL(p‖q)), ``poole-gan`` (G_ALT, the non-saturating
GAN), ``poole-alpha`` with α = 0.5 (squared Hellinger) and α = −1; plus JS,
f_G(u) = ½[u log u − (1 + u) log(1 + u) + (1 + u) log 2], defined here (not in the registry).

Fits per objective:

- **Poole**: the generator minimizes E f_G(e^{V(x̃)}) with the critic held fixed (004 eq. 8,
  the registered objective) — ``mean``/``std`` in results.json.
- **Poole, ideal critic**: the same loss with the exact V = log q/p (frozen in each step),
  by quadrature — ``ideal_*``: what the objective does without critic-estimation error.
- **corrected**: the generator minimizes E[ℓ(V) − ℓ'(V)], ℓ(V) = f_G(e^V), i.e.
  −f_G*(f_G'(e^V)) (the f-GAN lower-bound generator for f_G), whose fixed-critic gradient is
  the gradient of D_fG(p‖q) when e^V = q/p; Poole's ℓ(V) has that property only for reverse KL.
- **exact**: D_fG(p‖q) = ∫ p f_G(q/p) minimized by quadrature with the true densities (the same
  per-sample losses at V = log q/p), from N(0, 1) (``exact_*``) and the best of several
  starts (``global_*``).

004 Fig. 1: KL and JS cover both modes (large s, μ between the modes); reverse KL and G_ALT
pick the larger mode (s ≈ 0.5, μ ≈ −2).

Outputs: results.json ``{objective: {"mean", "std", "behaviour", "ideal_mean", "ideal_std",
"ideal_behaviour", "corrected_mean", "corrected_std", "corrected_behaviour", "exact_mean",
"exact_std", "global_mean", "global_std"}, "settings": ..., "wall_time_s": ...}``,
fits.png (densities), trajectories.png (μ and s during training).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import Any

import torch
from _common import finish, markdown_table, parse_args, pyplot, save_figure
from scipy import optimize
from torch import Tensor, nn
from torch.nn.functional import softplus

from kdecore.train import TrainConfig, load_dataset
from kdecore.train.loop import frozen
from kdecore.train.models import critic as make_critic
from kdecore.train.objectives import Objective, Step, gan, get_objective
from kdecore.train.objectives.poole import GENERATOR_OBJECTIVES

LOG2 = math.log(2.0)
#: the mixture weights of the trainer's mix1d
WEIGHTS = torch.tensor([0.7, 0.3])
#: the mixture's component standard deviation: a fit with s above twice it spreads over modes
COVER_STD = 1.0


def js_loss(v: Tensor) -> Tensor:
    """f_G(e^V) for Jensen-Shannon, f(u) = ½[u log u − (1+u) log(1+u) + (1+u) log 2], with
    log(1 + e^V) = softplus(V): per sample ½[V e^V − (1 + e^V)(softplus(V) − log 2)]."""
    u = torch.exp(v)
    return 0.5 * (v * u - (1.0 + u) * (softplus(v) - LOG2))


def _js_generator(s: Step) -> tuple[Tensor, dict[str, Tensor]]:
    loss = js_loss(s.critic(s.fake).flatten()).mean()
    return loss, {"g_loss": loss}


#: Poole's generator with f_G = JS over the standard GAN critic (not in the trainer's registry).
POOLE_JS = Objective("poole-js", "004 eq. 8 with f_G = JS", "standard GAN critic, f_G = JS",
                     "scalar", _js_generator, gan.critic_step)

#: label -> (registered objective or POOLE_JS, its α).
OBJECTIVES: dict[str, tuple[Objective, float]] = {
    "KL": (get_objective("poole-kl"), 0.5),
    "JS": (POOLE_JS, 0.5),
    "alpha=0.5": (get_objective("poole-alpha"), 0.5),
    "reverse KL": (get_objective("poole-rkl"), 0.5),
    "GAN-alt": (get_objective("poole-gan"), 0.5),
    "alpha=-1": (get_objective("poole-alpha"), -1.0),
}


def per_sample_loss(label: str, v: Tensor) -> Tensor:
    """f_G(e^V) elementwise, from the trainer's table (JS from :func:`js_loss`)."""
    obj, alpha = OBJECTIVES[label]
    if obj is POOLE_JS:
        return js_loss(v)
    return GENERATOR_OBJECTIVES[obj.name.removeprefix("poole-")][1](v, alpha)


class GaussianGenerator(nn.Module):
    """x = μ + s·z, z ~ N(0, 1): exactly a Gaussian, parameters μ and log s."""

    def __init__(self, mean: float = 0.0, std: float = 1.0) -> None:
        super().__init__()
        self.mean = nn.Parameter(torch.tensor(float(mean)))
        self.log_std = nn.Parameter(torch.tensor(math.log(std)))

    def forward(self, z: Tensor) -> Tensor:
        return self.mean + self.log_std.exp() * z

    def params(self) -> tuple[float, float]:
        """(μ, s) as floats."""
        return float(self.mean.detach()), float(self.log_std.detach().exp())


# -- the exact f_G-divergence by quadrature -------------------------------------------------
GRID = torch.linspace(-14.0, 14.0, 14001, dtype=torch.float64)


def log_mixture(x: Tensor, centers: Tensor, std: float, weights: Tensor) -> Tensor:
    """log Σ_c w_c N(x; μ_c, std²)."""
    comp = torch.distributions.Normal(centers.double(), std).log_prob(x[:, None])
    return torch.logsumexp(comp + weights.double().log(), dim=1)


def exact_divergence(label: str, mean: float, log_std: float, log_q: Tensor) -> float:
    """E_p f_G(q/p) = ∫ p(x) f_G(e^{log q(x) − log p(x)}) dx on :data:`GRID` (where p > e^−600)."""
    log_p = torch.distributions.Normal(mean, math.exp(log_std)).log_prob(GRID)
    keep = log_p > -600.0
    v = log_q[keep] - log_p[keep]
    dx = float(GRID[1] - GRID[0])
    return float((log_p[keep].exp() * per_sample_loss(label, v)).sum() * dx)


def exact_fit(label: str, log_q: Tensor, start: tuple[float, float]) -> tuple[float, float, float]:
    """(μ, s, divergence) at the local minimum of the exact divergence reached from ``start``."""
    r = optimize.minimize(lambda t: exact_divergence(label, t[0], t[1], log_q),
                          [start[0], math.log(start[1])], method="Nelder-Mead",
                          options={"xatol": 1e-5, "fatol": 1e-10, "maxiter": 4000})
    return float(r.x[0]), math.exp(float(r.x[1])), float(r.fun)


def ideal_critic_fit(label: str, centers: Tensor, std_q: float, steps: int = 2000,
                     lr: float = 1e-2) -> tuple[float, float]:
    """(μ, s) after Adam on Poole's loss E_z ℓ(V(μ + s·z)) with a perfect critic,
    V = log q − log p_θ, whose p_θ is held fixed inside V during each step (as a trained critic
    is); the expectation over z by quadrature on [−8, 8]. Separates what the objective does
    from what critic-estimation errors do."""
    z = torch.linspace(-8.0, 8.0, 801, dtype=torch.float64)
    w = torch.distributions.Normal(0.0, 1.0).log_prob(z).exp() * (z[1] - z[0])
    g = GaussianGenerator().double()
    opt = torch.optim.Adam(g.parameters(), lr=lr)
    for _ in range(steps):
        x = g(z)
        frozen_p = torch.distributions.Normal(g.mean.detach(), g.log_std.detach().exp())
        v = log_mixture(x, centers, std_q, WEIGHTS) - frozen_p.log_prob(x)
        loss = (w * per_sample_loss(label, v)).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return g.params()


# -- the adversarial fit ---------------------------------------------------------------------
def corrected_loss(label: str, v: Tensor) -> Tensor:
    """ℓ(V) − ℓ'(V) with ℓ(V) = f_G(e^V): f_G(u) − u f_G'(u) = −f_G*(f_G'(u)) at u = e^V, the
    f-GAN lower-bound generator (Nowozin G_LB) for f_G. Its pathwise gradient with the critic
    held fixed is the gradient of D_fG(p‖q) = ∫ p f_G(q/p) when e^V = q/p, because
    d/dθ ∫ p_θ f(q/p_θ) = ∫ ∂_θp_θ [f(r) − r f'(r)], r = q/p_θ. Poole's ℓ(V) alone has that
    property only for reverse KL (ℓ' = −1 is constant)."""
    loss = per_sample_loss(label, v)
    slope, = torch.autograd.grad(loss.sum(), v, create_graph=True)
    return loss - slope


def generator_loss(form: str, label: str, s: Step) -> Tensor:
    """``"poole"``: the registered objective's loss, E f_G(e^V) (004 eq. 8); ``"corrected"``:
    E[ℓ(V) − ℓ'(V)] (:func:`corrected_loss`)."""
    obj, _ = OBJECTIVES[label]
    if form == "poole":
        return obj.generator_loss(s)[0]
    return corrected_loss(label, s.critic(s.fake).flatten()).mean()


def train_fit(label: str, form: str, data, steps: int, batch: int, n_critic: int, lr_g: float,
              lr_d: float, seed: int) -> tuple[GaussianGenerator, list[tuple[int, float, float]]]:
    """Alternate ``n_critic`` standard-GAN critic updates and one generator update of
    ``label``'s objective in ``form``; return the generator and its (step, μ, s) path."""
    obj, alpha = OBJECTIVES[label]
    cfg = TrainConfig(alpha=alpha)
    torch.manual_seed(seed)
    g = GaussianGenerator()
    d = make_critic((1,), 1, hidden=(64, 64), width=1)
    opt_g = torch.optim.Adam(g.parameters(), lr=lr_g, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=lr_d, betas=(0.5, 0.999))
    dev = torch.device("cpu")
    path = [(0, *g.params())]
    for i in range(steps):
        for _ in range(n_critic):
            with torch.no_grad():
                fake = g(torch.randn(batch, 1))
            loss, _ = obj.critic_loss(Step(data.sample(batch, dev), fake, cfg, i, critic=d))
            opt_d.zero_grad(set_to_none=True)
            loss.backward()
            opt_d.step()
        fake = g(torch.randn(batch, 1))
        with frozen(d):
            loss = generator_loss(form, label, Step(data.sample(batch, dev), fake, cfg, i,
                                                    critic=d))
            opt_g.zero_grad(set_to_none=True)
            loss.backward()
        opt_g.step()
        if (i + 1) % max(1, steps // 100) == 0:
            path.append((i + 1, *g.params()))
    return g, path


def behaviour(mean: float, std: float, centers: Sequence[float], std_q: float) -> str:
    """"covers both modes" when s > :data:`COVER_STD`; "seeks the mode at c" when μ is within
    one component std of a mode centre c; else "collapses between the modes"."""
    if std > COVER_STD:
        return "covers both modes"
    c = min(centers, key=lambda m: abs(m - mean))
    if abs(mean - c) <= std_q:
        return f"seeks the mode at {c:+.0f}"
    return "collapses between the modes"


#: generator loss forms: results key prefix and plot label.
FORMS = {"poole": ("", "GAN, Poole f_G(e^V)"), "corrected": ("corrected_", "GAN, ℓ(V) − ℓ'(V)")}


def plot(out, data, results: dict[str, Any], paths: dict[tuple[str, str], list]) -> None:
    plt = pyplot()
    x = torch.linspace(-6, 6, 600, dtype=torch.float64)
    q = log_mixture(x, data.centers[:, 0], data.std, WEIGHTS).exp()
    labels = list(results)
    fig, axes = plt.subplots(2, (len(labels) + 1) // 2, figsize=(13, 6.5), sharex=True,
                             sharey=True, squeeze=False)
    fits = [(prefix, "-", name) for prefix, name in FORMS.values()]
    for ax, label in zip(axes.flat, labels, strict=False):
        r = results[label]
        ax.fill_between(x, q, color="0.8", label="data q")
        for prefix, style, name in [*fits, ("exact_", ":", "exact f_G minimizer")]:
            p = torch.distributions.Normal(r[f"{prefix}mean"], r[f"{prefix}std"]).log_prob(x)
            ax.plot(x, p.exp(), style, lw=1.6, label=name)
        ax.set_title(label, fontsize=10)
        ax.set_ylim(0, 2.5)
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("One Gaussian fitted to 0.7·N(−2, 0.5²) + 0.3·N(2, 0.5²) (004 Fig. 1b)")
    save_figure(fig, out / "fits.png")
    fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True, squeeze=False)
    for row, (form, (_, name)) in zip(axes, FORMS.items(), strict=True):
        for label in labels:
            steps, mu, sd = zip(*paths[label, form], strict=True)
            row[0].plot(steps, mu, label=label)
            row[1].plot(steps, sd, label=label)
        row[0].set(ylabel="μ", title=name)
        row[1].set(ylabel="s", yscale="log", title=name)
    for ax in axes[1]:
        ax.set_xlabel("generator step")
    axes[0, 0].legend(fontsize=8)
    save_figure(fig, out / "trajectories.png")


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args("fit_1d_divergences", __doc__, argv, {
        "steps": (int, None, "generator steps per fit"),
        "objectives": (str, ",".join(OBJECTIVES), "comma-separated subset of the objectives")})
    labels = [o.strip() for o in args.objectives.split(",")]
    unknown = [o for o in labels if o not in OBJECTIVES]
    if unknown:
        raise ValueError(f"--objectives: unknown {unknown}; known: {', '.join(OBJECTIVES)}")
    steps = args.steps or (400 if args.quick else 1500)
    batch, n_critic, lr_g, lr_d = (256, 2, 2e-2, 2e-3) if args.quick else (512, 3, 1e-2, 1e-3)
    ideal_steps = 400 if args.quick else 2000
    data = load_dataset(TrainConfig(data="mix1d"))
    log_q = log_mixture(GRID, data.centers[:, 0], data.std, WEIGHTS)
    centers = [float(c) for c in data.centers[:, 0]]
    results: dict[str, Any] = {}
    paths = {}
    for label in labels:
        r: dict[str, Any] = {}
        for form, (prefix, _) in FORMS.items():
            g, paths[label, form] = train_fit(label, form, data, steps, batch, n_critic, lr_g,
                                              lr_d, args.seed)
            mu, sd = g.params()
            r.update({f"{prefix}mean": mu, f"{prefix}std": sd,
                      f"{prefix}behaviour": behaviour(mu, sd, centers, data.std)})
        mu, sd = ideal_critic_fit(label, data.centers[:, 0], data.std, ideal_steps)
        r.update({"ideal_mean": mu, "ideal_std": sd,
                  "ideal_behaviour": behaviour(mu, sd, centers, data.std)})
        mu, sd, _ = exact_fit(label, log_q, (0.0, 1.0))
        starts = [(0.0, 1.0), *((c, data.std) for c in centers)]
        best = min((exact_fit(label, log_q, s) for s in starts), key=lambda t: t[2])
        r.update({"exact_mean": mu, "exact_std": sd, "global_mean": best[0],
                  "global_std": best[1]})
        results[label] = r
        print(f"{label}: Poole μ={r['mean']:+.2f} s={r['std']:.2f}; corrected "
              f"μ={r['corrected_mean']:+.2f} s={r['corrected_std']:.2f}", flush=True)
    plot(args.out, data, results, paths)
    fits = ("", "ideal_", "corrected_", "exact_", "global_")
    rows = [(k, *(r[f"{p}{m}"] for p in fits for m in ("mean", "std")))
            for k, r in results.items()]
    print(markdown_table(["objective", "μ Poole", "s Poole", "μ Poole ideal", "s Poole ideal",
                          "μ corrected", "s corrected", "μ exact", "s exact", "μ global",
                          "s global"], rows, 2))
    results["settings"] = {"steps": steps, "batch_size": batch, "n_critic": n_critic,
                           "lr_g": lr_g, "lr_d": lr_d, "critic_hidden": [64, 64],
                           "ideal_critic_steps": ideal_steps,
                           "data": "mix1d", "start": [0.0, 1.0]}
    return finish(args, results)


if __name__ == "__main__":
    main(sys.argv[1:])
