"""The reproduction scripts of ``python/`` in their ``--quick`` mode: each writes results.json
and its PNGs, and the claims a quick run can support hold (the full runs and their numbers are
in python/README.md)."""

from __future__ import annotations

import importlib
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPTS = Path(__file__).resolve().parents[1] / "python"
LOG4 = math.log(4.0)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    """The digits LeNet is trained once into a temporary cache, never into ~/.cache."""
    path = tmp_path_factory.mktemp("kdecore-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KDECORE_CACHE_DIR", str(path))
        yield path


@pytest.fixture
def script(cache_dir, monkeypatch):
    """Import a script of python/ by name; the torch RNG and thread count it sets are restored
    afterwards."""
    monkeypatch.syspath_prepend(str(SCRIPTS))
    threads = torch.get_num_threads()
    with torch.random.fork_rng(devices=[]):
        yield importlib.import_module
    torch.set_num_threads(threads)


def load(out: Path, *pngs: str) -> dict:
    for name in pngs:
        assert (out / name).stat().st_size > 1000, name
    return json.loads((out / "results.json").read_text())


def test_fit_1d_divergences(script, tmp_path):
    labels = ["KL", "reverse KL", "GAN-alt"]
    script("fit_1d_divergences").main(["--out", str(tmp_path), "--quick",
                                       "--objectives", ",".join(labels)])
    r = load(tmp_path, "fits.png", "trajectories.png")
    assert set(labels) <= set(r) and r["settings"]["quick"]
    for label in labels:
        assert {"mean", "std", "ideal_mean", "ideal_std", "corrected_mean", "corrected_std",
                "exact_mean", "exact_std"} <= set(r[label])
    # the exact forward-KL fit is moment matching: μ = 0.7·(−2) + 0.3·2, s² = 0.25 + 4 − μ²
    assert r["KL"]["exact_mean"] == pytest.approx(-0.8, abs=0.01)
    assert r["KL"]["exact_std"] == pytest.approx(1.9, abs=0.01)
    # mode covering with the divergence's gradient: KL spreads over both modes ...
    assert r["KL"]["corrected_std"] > 1.5
    assert -1.5 < r["KL"]["corrected_mean"] < 0.0
    # ... reverse KL and G_ALT pick the larger mode (with either generator loss) ...
    for label in ("reverse KL", "GAN-alt"):
        for prefix in ("", "corrected_"):
            assert r[label][f"{prefix}std"] < 0.7
            assert r[label][f"{prefix}mean"] == pytest.approx(-2.0, abs=0.3)
    assert r["KL"]["corrected_std"] > 2 * r["reverse KL"]["corrected_std"]
    # ... while Poole's fixed-critic KL loss V·e^V collapses, with a trained and with a perfect
    # critic alike (measured; see python/README.md)
    assert r["KL"]["std"] < 1.0 and r["KL"]["ideal_std"] < 1.0


def test_kernel_gan_ring(script, tmp_path):
    script("kernel_gan_ring").main(["--out", str(tmp_path), "--quick"])
    r = load(tmp_path, "phases.png")
    sigmas = [p["sigma"] for p in r["kernel-gan"]["phases"]]
    assert sigmas == [None, 0.8, 0.4, 0.2, 0.1, 0.05, 0.025]  # 000 Fig. 1's phases
    for objective in ("kernel-gan", "ns-gan"):
        phases = r[objective]["phases"]
        assert [p["step"] for p in phases] == [0, 20, 40, 60, 80, 100, 120]
        for p in phases:
            assert 0 <= p["modes_covered"] <= 8 and 0.0 <= p["hq_fraction"] <= 1.0
        assert (tmp_path / objective / "metrics.csv").exists()
    kg = r["kernel-gan"]["phases"]
    assert kg[-1]["hq_fraction"] > kg[0]["hq_fraction"]


def test_kid_vs_fid_command_line(cache_dir, tmp_path):
    """Run as a command, the way python/README.md does."""
    env = {**os.environ, "KDECORE_CACHE_DIR": str(cache_dir)}
    subprocess.run([sys.executable, str(SCRIPTS / "kid_vs_fid.py"), "--out", str(tmp_path),
                    "--quick"], check=True, env=env, capture_output=True, timeout=300)
    r = load(tmp_path, "kid_vs_fid.png")
    n = len(r["n"])
    assert n >= 3 and all(len(r[k]) == n for k in ("kid_mean", "kid_std", "fid_mean"))
    for mean, sem in zip(r["kid_mean"], r["kid_sem"], strict=True):
        assert abs(mean) < 3.5 * sem  # KID: unbiased, centred on 0
    sems = [s / math.sqrt(r["repeats"]) for s in r["fid_std"]]
    assert all(m > 3 * s for m, s in zip(r["fid_mean"], sems, strict=True))  # FID > 0
    assert r["fid_mean"] == sorted(r["fid_mean"], reverse=True)  # shrinking with n


def test_kernel_gan_table(script, tmp_path):
    script("kernel_gan_table").main(["--out", str(tmp_path), "--quick"])
    r = load(tmp_path)
    assert (tmp_path / "table.md").exists()
    for row in ("generator", "heldout"):
        assert set(r[row]) == {"ee", "enn", "ls", "jsd", "jsd_f", "jsd_s", "jsd_self", "jsd_half",
                                "mmd2"}
        m = {k: v["mean"] for k, v in r[row].items()}
        assert m["jsd"] == pytest.approx(m["jsd_f"] + m["jsd_s"], abs=1e-6)
        assert 0.0 <= m["ee"] <= math.log(10) and 1.0 <= m["ls"] <= 10.0 and m["enn"] > 0
    held = r["heldout"]
    assert held["jsd"]["mean"] == pytest.approx(-LOG4, abs=0.01)  # 000 Table 1, MNIST Test
    assert held["jsd_f"]["mean"] == pytest.approx(-math.log(2), abs=0.02)
    assert abs(held["mmd2"]["mean"]) < 0.02


def test_mmd_gan_digits(script, tmp_path):
    script("mmd_gan_digits").main(["--out", str(tmp_path), "--quick"])
    r = load(tmp_path, "kid_curves.png")
    for objective in ("mmd-rq*", "wgan-gp"):
        c = r[objective]
        assert c["steps"] == [5, 10, 15, 20]
        assert len(c["kid"]) == len(c["kid_std"]) == len(c["lr_g"]) == 4
        assert all(math.isfinite(k) for k in c["kid"])
        assert all(0 < lr <= 1e-4 for lr in c["lr_g"])
        assert isinstance(c["halvings"], list)
    assert math.isfinite(r["data_kid"])
