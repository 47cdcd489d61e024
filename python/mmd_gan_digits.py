"""MMD GAN (rq*) with the KID-driven learning rate vs WGAN-GP on digits: KID curves (002 §4.1,
§5, Fig. 2; SPEC §5, §8).

    python python/mmd_gan_digits.py --out runs/mmd_gan_digits [--quick]

Both models are trained with ``kdecore.train.train`` on scikit-learn's 8×8 digits with the
trainer's DCGAN networks and the 002 §5 protocol as the trainer's defaults give it (batch 64,
5 critic updates per generator update, Adam lr 1e-4; MMD GAN: rq* kernel on 16 critic
features, gradient penalty 1, activation penalty 1; WGAN-GP: λ = 10), each with ``kid_lr``:
every ``kid_every`` generator steps the current generator is compared with the one ``kid_lag``
steps earlier by the relative KID test against held-out digits, and after 3 failures in a row
both learning rates are halved (002 §4.1; the trainer's defaults: every steps/75, lag 10 ×
every — 002 tested every 500 of 50 000 MNIST steps with lag 5 000; its test uses the cubic
kernel on pixels, not on LeNet features).

Every ``--eval-every`` steps (``stop_at``/``resume``, an exact continuation) the script
measures KID between 297 generator samples and the 297 held-out digits on the digits LeNet's
features (unbiased, all pairs; its standard deviation from the variance estimate, SPEC §4.3),
and reads the learning rate and the halvings from the trainer's log. The reference line is
the KID between 297 training digits and the held-out digits (a perfect generator's level).

Outputs: results.json ``{objective: {"steps": [...], "kid": [...], "kid_std": [...],
"lr_g": [...], "lr_history": [[step, lr], ...], "halvings": [{"step", "lr_g"}],
"final_kid", ...}, "data_kid": ...}``,
kid_curves.png, ``<objective>/`` (the trainer's metrics.csv and samples.png).
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Sequence
from typing import Any

import torch
from _common import (
    digits_lenet,
    digits_split,
    finish,
    lenet_features,
    markdown_table,
    parse_args,
    pyplot,
    save_figure,
    train_in_stages,
)

import kdecore as kd
from kdecore.train import TrainConfig

#: objective -> output folder name
OBJECTIVES = {"mmd-rq*": "mmd-rq-star", "wgan-gp": "wgan-gp"}


def kid_curve(objective: str, steps: int, every: int, args, lenet, held_feats: torch.Tensor
              ) -> dict[str, Any]:
    """Train ``objective`` with the KID-driven learning rate, measuring KID every ``every``."""
    cfg = TrainConfig(objective=objective, data="digits", steps=steps, seed=args.seed,
                      out=str(args.out / OBJECTIVES[objective]), progress=False,
                      tensorboard=False, device="cpu", threads=args.threads, kid_lr=True,
                      sample_every=steps,
                      checkpoint_every=steps, eval_samples=1000)
    ends = [*range(every, steps, every), steps]
    curve: dict[str, Any] = {"steps": [], "kid": [], "kid_std": [], "lr_g": [], "seconds": 0.0}
    n = held_feats.shape[0]
    result = None
    for end, result, seconds in train_in_stages(cfg, ends):
        feats = lenet_features(lenet, result.sample(n))
        mean, std = kd.kid(feats, held_feats, subsets=None)
        curve["steps"].append(end)
        curve["kid"].append(float(mean))
        curve["kid_std"].append(float(std))
        curve["lr_g"].append(result.history[-1]["lr_g"])
        curve["seconds"] += seconds
        print(f"{objective} step {end}: KID {float(mean):.4f} ± {float(std):.4f}, "
              f"lr {curve['lr_g'][-1]:.2e}", flush=True)
    history = result.history
    curve["lr_history"] = [[int(r["step"]), r["lr_g"]] for r in history]
    curve["halvings"] = [{"step": int(b["step"]), "lr_g": b["lr_g"]}
                         for a, b in itertools.pairwise(history) if b["lr_g"] < a["lr_g"]]
    tests = [[int(r["step"]), r["kid_p"]] for r in history if "kid_p" in r]
    curve.update(final_kid=curve["kid"][-1], final_kid_std=curve["kid_std"][-1],
                 kid_every=result.config.kid_every, kid_lag=result.config.kid_lag,
                 kid_p_logged=tests,
                 kid_pixels=result.metrics.get("kid_pixels"),
                 seconds=round(curve["seconds"], 1))
    return curve


def plot(out, results: dict[str, Any], data_kid: float) -> None:
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    for objective in OBJECTIVES:
        r = results[objective]
        line = a1.errorbar(r["steps"], r["kid"], yerr=r["kid_std"], marker="o", ms=3,
                           capsize=2, label=objective)
        steps, lrs = zip(*r["lr_history"], strict=True)
        a2.plot(steps, lrs, drawstyle="steps-post", label=objective, color=line[0].get_color())
        for h in r["halvings"]:
            a1.axvline(h["step"], color=line[0].get_color(), ls=":", lw=1)
    a1.axhline(data_kid, color="k", lw=0.8, ls="--", label="training digits")
    a1.set_yscale("symlog", linthresh=10.0)
    a1.set(xlabel="generator step", ylabel="KID (LeNet features, symlog)",
           title="KID vs held-out digits (dotted: learning rate halved)")
    a2.set(xlabel="generator step", ylabel="generator learning rate", yscale="log",
           title="KID-driven learning rate (002 §4.1)")
    a1.legend(fontsize=8)
    save_figure(fig, out / "kid_curves.png")


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args("mmd_gan_digits", __doc__, argv, {
        "steps": (int, None, "generator steps per model"),
        "eval-every": (int, None, "measure KID every N generator steps")})
    steps = args.steps or (20 if args.quick else 1500)
    every = args.eval_every or max(1, steps // (4 if args.quick else 20))
    lenet = digits_lenet()
    train_imgs, held_imgs = digits_split()
    held_feats = lenet_features(lenet, held_imgs)
    pick = torch.randperm(train_imgs.shape[0], generator=torch.Generator().manual_seed(0))
    data_kid = float(kd.kid(lenet_features(lenet, train_imgs[pick[:held_feats.shape[0]]]),
                            held_feats, subsets=None)[0])
    results: dict[str, Any] = {o: kid_curve(o, steps, every, args, lenet, held_feats)
                               for o in OBJECTIVES}
    plot(args.out, results, data_kid)
    rows = [(o, r["final_kid"], r["final_kid_std"], min(r["kid"]), len(r["halvings"]),
             f"{r['lr_g'][-1]:.2e}", r["seconds"]) for o, r in results.items()]
    print(markdown_table(["objective", "final KID", "± std", "best KID", "halvings",
                          "final lr", "train s"], rows, 4))
    print(f"KID of 297 training digits vs the held-out digits: {data_kid:.4f}")
    results["data_kid"] = data_kid
    results["settings"] = {"steps": steps, "eval_every": every, "kid_samples": 297,
                           "features": "digits LeNet penultimate layer (64)"}
    return finish(args, results)


if __name__ == "__main__":
    main(sys.argv[1:])
