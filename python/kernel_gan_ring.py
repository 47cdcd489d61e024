"""Kernel GAN on the 8-Gaussian ring with σ annealed 0.8 → 0.025, beside a standard GAN
(000 Fig. 1; SPEC §8).

    python python/kernel_gan_ring.py --out runs/kernel_gan_ring [--quick]

Both generators are trained with ``kdecore.train.train`` on ``ring8`` (8 Gaussians on a circle of
radius 2, std 0.02) for the same number of generator steps: ``kernel-gan`` (000 §2.5, Algorithm
1: closed-form KDE-ratio discriminator, bandwidth annealed through σ = 0.8, 0.4, 0.2, 0.1,
0.05, 0.025 in six equal phases; the paper ran 10 000 iterations per phase) and ``ns-gan``
(the non-saturating GAN with an MLP critic, DCGAN's Adam settings). Each run stops at the end of
every σ phase (``stop_at``) and resumes from its checkpoint (``resume``; exact continuation), so
the generator is sampled at each phase end; the initial generator is sampled before step 1.

Per snapshot: modes covered (a mode is covered when at least one sample within 3 std of it has
it as nearest centre) and the fraction of high-quality samples (within 3 std of a mode), on
2 000 samples (SPEC §7, ``mixture_quality``).

Outputs: results.json ``{objective: {"phases": [{"step", "sigma", "modes_covered", "hq_fraction"},
...], "modes_covered", "hq_fraction", "wall_time_s"}}``, phases.png (000 Fig. 1 layout, one row
per objective), ``<objective>/`` (the trainer's metrics.csv, samples/, checkpoint).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import torch
from _common import finish, markdown_table, parse_args, pyplot, save_figure, train_in_stages

from kdecore.train import TrainConfig, Trainer, load_dataset
from kdecore.train.metrics import mixture_quality
from kdecore.train.schedules import PAPER_SIGMAS

#: the standard GAN beside the Kernel GAN (G_ALT, 004; 001)
OBJECTIVES = ("kernel-gan", "ns-gan")
#: samples per snapshot (000 Fig. 1 shows a few thousand)
SAMPLES = 2000


def snapshots(objective: str, steps: int, out, seed: int) -> tuple[list[dict], list, float]:
    """Train ``objective`` on ring8 for ``steps`` generator steps, stopping at each σ phase end;
    return per-snapshot metrics, the samples and the training wall time."""
    data = load_dataset(TrainConfig(data="ring8"))
    cfg = TrainConfig(objective=objective, data="ring8", steps=steps, seed=seed,
                      out=str(out / objective), progress=False, tensorboard=False,
                      device="cpu", eval_samples=SAMPLES, sample_every=steps,
                      checkpoint_every=steps)
    first = Trainer(cfg)
    try:
        samples = [first.sample(SAMPLES)]
    finally:
        first.close()
    ends = [steps * (k + 1) // len(PAPER_SIGMAS) for k in range(len(PAPER_SIGMAS))]
    wall = 0.0
    for _, result, seconds in train_in_stages(cfg, ends):
        wall += seconds
        samples.append(result.sample(SAMPLES))
    annealed = cfg.objective == "kernel-gan"
    rows = []
    for k, (step, x) in enumerate(zip([0, *ends], samples, strict=True)):
        q = mixture_quality(x, data.centers, data.std)
        rows.append({"step": step, "sigma": PAPER_SIGMAS[k - 1] if k and annealed else None,
                     "modes_covered": q["modes_covered"], "hq_fraction": q["hq_fraction"]})
    return rows, samples, wall


def plot(out, results: dict[str, Any], samples: dict[str, list], heldout: torch.Tensor) -> None:
    plt = pyplot()
    ncol = len(PAPER_SIGMAS) + 1
    fig, axes = plt.subplots(len(samples), ncol, figsize=(2.1 * ncol, 2.6 * len(samples)),
                             squeeze=False)
    for row, (objective, xs) in zip(axes, samples.items(), strict=True):
        for ax, x, snap in zip(row, xs, results[objective]["phases"], strict=True):
            ax.scatter(heldout[:, 0], heldout[:, 1], s=2, c="tab:blue", alpha=0.5)
            ax.scatter(x[:, 0], x[:, 1], s=2, c="tab:green", alpha=0.5)
            ax.set(xlim=(-3, 3), ylim=(-3, 3), xticks=[], yticks=[], aspect="equal")
            when = f"step {snap['step']}" + (f", σ = {snap['sigma']}" if snap["sigma"] else "")
            ax.set_title(f"{when}\n{snap['modes_covered']}/8 modes, "
                         f"hq {100 * snap['hq_fraction']:.0f} %", fontsize=8)
        row[0].set_ylabel(objective)
    fig.suptitle("8-Gaussian ring: data (blue), samples (green) initially and at the end of "
                 "each σ phase of the Kernel GAN (000 Fig. 1)", fontsize=10)
    save_figure(fig, out / "phases.png")


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args("kernel_gan_ring", __doc__, argv, {
        "steps": (int, None, "generator steps per objective (six σ phases)")})
    steps = args.steps or (120 if args.quick else 6000)
    if steps < len(PAPER_SIGMAS):
        raise ValueError(f"--steps must be at least {len(PAPER_SIGMAS)} (one per σ phase)")
    results: dict[str, Any] = {}
    samples = {}
    for objective in OBJECTIVES:
        rows, samples[objective], wall = snapshots(objective, steps, args.out, args.seed)
        results[objective] = {"phases": rows, "modes_covered": rows[-1]["modes_covered"],
                              "hq_fraction": rows[-1]["hq_fraction"],
                              "wall_time_s": round(wall, 1)}
        print(f"{objective}: {rows[-1]['modes_covered']}/8 modes, "
              f"hq {100 * rows[-1]['hq_fraction']:.1f} %, {wall:.0f} s", flush=True)
    plot(args.out, results, samples, load_dataset(TrainConfig(data="ring8")).heldout)
    header = ["step", "σ (kernel-gan)"] + [f"{o} {m}" for o in OBJECTIVES
                                           for m in ("modes", "hq %")]
    table = []
    for k, snap in enumerate(results[OBJECTIVES[0]]["phases"]):
        row = [snap["step"], str(snap["sigma"] or "initial")]
        for o in OBJECTIVES:
            s = results[o]["phases"][k]
            row += [s["modes_covered"], round(100 * s["hq_fraction"], 1)]
        table.append(row)
    print(markdown_table(header, table, 1))
    results["settings"] = {"steps": steps, "samples": SAMPLES, "sigmas": list(PAPER_SIGMAS),
                           "data": "ring8"}
    return finish(args, results)


if __name__ == "__main__":
    main(sys.argv[1:])
