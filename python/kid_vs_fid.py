"""KID and FID between two samples of one distribution as the sample size n grows (002 Fig. 1,
on digits; SPEC §4.4, §7, §8).

    python python/kid_vs_fid.py --out runs/kid_vs_fid [--quick]

Features: the 64 penultimate activations of the trainer's digits LeNet
(``kdecore.train.metrics.load_digits_lenet``; 002 §4 replaces Inception by a LeNet for MNIST) on
all 1 797 scikit-learn digits. For each n, ``--repeats`` times: draw 2n distinct digits at
random, split them into two halves of n (so both halves come from the same distribution), and
compute KID (the unbiased MMD² with the cubic polynomial kernel on all n × n pairs,
``kd.kid(..., subsets=None)``) and FID between the halves. 002 Fig. 1: KID estimates are
centred on the true value 0 with standard deviations that shrink quickly; FID estimates are
positive, biased upward, and shrink only slowly with n (no unbiased FID estimator exists).

Outputs: results.json ``{"n": [...], "kid_mean", "kid_std", "kid_sem", "fid_mean", "fid_std",
"repeats"}`` (one entry per n; std across repeats, sem = std/√repeats), kid_vs_fid.png.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import Any

import torch
from _common import (
    digits_images,
    digits_lenet,
    finish,
    lenet_features,
    markdown_table,
    mean_std,
    parse_args,
    pyplot,
    save_figure,
)

import kdecore as kd
from kdecore.train.metrics import fid

FULL_N = (16, 32, 64, 128, 256, 512, 898)
QUICK_N = (32, 128, 512)


def estimates(feats: torch.Tensor, n: int, repeats: int, gen: torch.Generator
              ) -> tuple[list[float], list[float]]:
    """KID and FID of ``repeats`` random disjoint pairs of n-subsets of ``feats``."""
    if 2 * n > feats.shape[0]:
        raise ValueError(f"n = {n} needs 2n <= {feats.shape[0]} feature vectors")
    kids, fids = [], []
    for _ in range(repeats):
        idx = torch.randperm(feats.shape[0], generator=gen)[:2 * n]
        a, b = feats[idx[:n]], feats[idx[n:]]
        kids.append(float(kd.kid(a, b, subsets=None)[0]))
        fids.append(float(fid(a, b)))
    return kids, fids


def plot(out, r: dict[str, Any]) -> None:
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    n = r["n"]
    a1.errorbar(n, r["kid_mean"], yerr=r["kid_std"], marker="o", capsize=3)
    a1.axhline(0.0, color="k", lw=0.8)
    a1.set_yscale("symlog", linthresh=1.0)
    a1.set(xscale="log", xlabel="n (samples per side)", ylabel="KID (symlog)",
           title="(a) KID: unbiased, centred on 0")
    a2.errorbar(n, r["fid_mean"], yerr=r["fid_std"], marker="o", capsize=3, color="tab:red")
    a2.set(xscale="log", yscale="log", xlabel="n (samples per side)", ylabel="FID",
           title="(b) FID: biased upward, shrinking with n")
    fig.suptitle(f"Two random halves of the digits, LeNet features, {r['repeats']} repeats "
                 f"(002 Fig. 1); error bars: std", fontsize=10)
    save_figure(fig, out / "kid_vs_fid.png")


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args("kid_vs_fid", __doc__, argv,
                      {"repeats": (int, None, "random splits per n")})
    repeats = args.repeats or (10 if args.quick else 100)
    sizes = QUICK_N if args.quick else FULL_N
    feats = lenet_features(digits_lenet(), digits_images())
    gen = torch.Generator().manual_seed(args.seed)
    r: dict[str, Any] = {"n": list(sizes), "repeats": repeats, "kid_mean": [], "kid_std": [],
                         "kid_sem": [], "fid_mean": [], "fid_std": []}
    for n in sizes:
        kids, fids = estimates(feats, n, repeats, gen)
        for name, values in (("kid", kids), ("fid", fids)):
            m, s = mean_std(values)
            r[f"{name}_mean"].append(m)
            r[f"{name}_std"].append(s)
        r["kid_sem"].append(r["kid_std"][-1] / math.sqrt(repeats))
    plot(args.out, r)
    rows = [(n, km, ks, km / max(se, 1e-300), fm, fs) for n, km, ks, se, fm, fs in
            zip(sizes, r["kid_mean"], r["kid_std"], r["kid_sem"], r["fid_mean"], r["fid_std"],
                strict=True)]
    print(markdown_table(["n", "KID mean", "KID std", "KID mean / sem", "FID mean", "FID std"],
                         rows, 4))
    r["settings"] = {"features": "digits LeNet penultimate layer (64)", "n_digits":
                     int(feats.shape[0]), "kid": "unbiased, all pairs (subsets=None)"}
    return finish(args, r)


if __name__ == "__main__":
    main(sys.argv[1:])
