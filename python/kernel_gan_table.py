"""000 Table 1 on scikit-learn's digits: EE, ENN, LS, JSD (K_n), JSD-F, JSD-S and MMD for a
trained Kernel GAN generator and for held-out digits (SPEC §7, §8).

    python python/kernel_gan_table.py --out runs/kernel_gan_table [--quick]

Generator: ``kdecore.train.train(objective="kernel-gan", data="digits", schedule="median")`` —
the Kernel GAN objective (000 eq. 12) on 8×8 pixels with the trainer's DCGAN generator, the KDE
bandwidth set to the median heuristic of each batch (000 §3.1 suggests the median trick; the
ring's 0.8 → 0.025 annealing is meant for 2-D data of scale 2, far below the ≈ 4.4 median
distance scale of digits in [−1, 1]^64).

Evaluation, ``--repeats`` times: the 297 held-out digits of the trainer's split are cut at
random into a reference half A (149) and a candidate half B (148); the rows are

- **generator**: 148 fresh generator samples as candidates;
- **held-out digits**: B, real digits never used for training (000 Table 1 "MNIST Test", the
  ideal generator).

Metrics (000 §3.3), each candidate set C against A (JSD, MMD) or the training split (ENN):
EE = E H(p(y|x)) and LS = exp E KL(p(y|x) ‖ π) from the digits LeNet (π: its training-class
frequencies); ENN = mean distance from C to its nearest training digit (pixels in [−1, 1]);
JSD = K_n(A, C) = JSD-F + JSD-S with leave-one-out KDEs (``metrics.jsd``) at the bandwidth σ =
median heuristic of the held-out digits (4.35; the same σ for every row, chosen from data only);
MMD² with a Gaussian kernel of the same σ. K_n of two samples of one distribution tends to
−log 4 ≈ −1.386; finite samples bias it (kd.kernel_gan_objective: leave-one-out moves it below
−log 4, strongly at small σ; with each point in its own KDE, as eq. 12 is written, it sits
above), so K_n with self-included KDEs and K_n at σ/2 are reported as well.

Outputs: results.json ``{"generator": {metric: {"mean", "std"}}, "heldout": {...},
"sigma": σ, "training": {...}}``, table.md, samples.png (the trainer's picture in
``generator/``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import torch
from _common import (
    LOG4,
    digits_lenet,
    digits_split,
    finish,
    markdown_table,
    mean_std,
    parse_args,
)

import kdecore as kd
from kdecore.train import train
from kdecore.train.metrics import (
    classifier_score,
    digits_class_frequencies,
    enn,
    expected_entropy,
    jsd,
    mmd2,
)

#: metric name -> label in the table (000 Table 1 order)
METRICS = {"ee": "EE", "enn": "ENN", "ls": "LS", "jsd": "JSD (K_n)", "jsd_f": "JSD-F",
           "jsd_s": "JSD-S", "jsd_self": "K_n, self-included KDEs", "jsd_half": "K_n at σ/2",
           "mmd2": "MMD²"}


def table_metrics(ref: torch.Tensor, cand: torch.Tensor, train_x: torch.Tensor, lenet,
                  class_freq: torch.Tensor, sigma: float) -> dict[str, float]:
    """Every metric of one candidate set ``cand`` (n, 64) against the reference ``ref``."""
    with torch.no_grad():
        probs = lenet.probs(cand)
    k_n, f, s = jsd(ref, cand, sigma)
    k_self, _, _ = jsd(ref, cand, sigma, exclude_self=False)
    k_half, _, _ = jsd(ref, cand, sigma / 2)
    return {"ee": float(expected_entropy(probs)), "enn": float(enn(cand, train_x)),
            "ls": float(classifier_score(probs, class_freq)), "jsd": float(k_n),
            "jsd_f": float(f), "jsd_s": float(s), "jsd_self": float(k_self),
            "jsd_half": float(k_half),
            "mmd2": float(mmd2(ref, cand, kd.RBF(sigma)))}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args("kernel_gan_table", __doc__, argv, {
        "steps": (int, None, "Kernel GAN generator steps"),
        "repeats": (int, None, "random A/B splits of the held-out digits")})
    steps = args.steps or (20 if args.quick else 2000)
    repeats = args.repeats or (3 if args.quick else 20)
    result = train(objective="kernel-gan", data="digits", schedule="median", steps=steps,
                   seed=args.seed, out=str(args.out / "generator"), progress=False,
                   tensorboard=False, device="cpu", threads=args.threads,
                   checkpoint_every=steps)
    train_imgs, held_imgs = digits_split()
    train_x, held = train_imgs.flatten(1), held_imgs.flatten(1)
    sigma = float(kd.bandwidth(held, rule="median"))
    lenet = digits_lenet()
    class_freq = digits_class_frequencies()
    gen = torch.Generator().manual_seed(args.seed)
    n_ref = (held.shape[0] + 1) // 2
    n_cand = held.shape[0] - n_ref
    fakes = result.sample(n_cand * repeats).flatten(1).split(n_cand)
    rows: dict[str, list[dict[str, float]]] = {"generator": [], "heldout": []}
    for r, fake in enumerate(fakes):
        perm = torch.randperm(held.shape[0], generator=gen)
        ref, real = held[perm[:n_ref]], held[perm[n_ref:]]
        for name, cand in (("generator", fake), ("heldout", real)):
            rows[name].append(table_metrics(ref, cand, train_x, lenet, class_freq, sigma))
        print(f"repeat {r + 1}/{repeats}: K_n generator {rows['generator'][-1]['jsd']:.4f}, "
              f"held-out {rows['heldout'][-1]['jsd']:.4f}", flush=True)
    results: dict[str, Any] = {}
    for name, values in rows.items():
        results[name] = {k: dict(zip(("mean", "std"), mean_std([v[k] for v in values]),
                                     strict=True)) for k in METRICS}
    header = ["metric", "Kernel GAN (digits)", "held-out digits"]
    table = [[label, *(f"{results[r][k]['mean']:.4f} ± {results[r][k]['std']:.4f}"
                       for r in rows)] for k, label in METRICS.items()]
    md = markdown_table(header, table)
    print(md)
    print(f"−log 4 = {-LOG4:.4f}; σ = {sigma:.3f} (median heuristic of the held-out digits)")
    (args.out / "table.md").write_text(md + "\n")
    results.update(sigma=sigma, neg_log4=-LOG4, training={
        "objective": "kernel-gan", "schedule": "median", "steps": steps,
        "final": result.metrics.get("final", {}), "kid_pixels": result.metrics.get("kid_pixels"),
        "wall_time_s": result.metrics.get("wall_time_s")})
    results["settings"] = {"repeats": repeats, "reference_size": n_ref,
                           "candidate_size": n_cand,
                           "jsd": "leave-one-out KDEs (metrics.jsd default)"}
    return finish(args, results)


if __name__ == "__main__":
    main(sys.argv[1:])
