"""The loop: outputs, exact resume, NaN stop, KID-driven learning rate, schedules (SPEC §5)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
import torch
from tiny_runs import tiny_config

from kdecore.train import NonFiniteLossError, Objective, TrainConfig, schedules, train
from kdecore.train.checkpoint import CHECKPOINT, load
from kdecore.train.config import from_mapping
from kdecore.train.objectives import OBJECTIVES, gan, register_objective
from kdecore.train.objectives.registry import scalar


def _rows(path: Path) -> list[dict[str, str]]:
    with (path / "metrics.csv").open() as fh:
        return list(csv.DictReader(fh))


def test_outputs_on_mixture_data(tmp_path):
    out = tmp_path / "run"
    result = train(tiny_config(tmp_path, objective="ns-gan", steps=6, log_every=2,
                               sample_every=3, tensorboard=True))
    assert {"metrics.csv", "metrics.json", "samples.png", CHECKPOINT} <= {
        p.name for p in out.iterdir()}
    assert sorted(p.name for p in (out / "samples").iterdir()) == [
        "step_0000003.png", "step_0000006.png"]
    assert list((out / "tb").iterdir()), "no TensorBoard event file"
    rows = _rows(out)
    assert [r["step"] for r in rows] == ["2.0", "4.0", "6.0"]
    assert {"d_loss", "g_loss", "lr_g", "lr_d", "time_s"} <= set(rows[0])
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics == result.metrics
    assert metrics["status"] == "finished" and metrics["n_modes"] == 8
    assert 0 <= metrics["modes_covered"] <= 8 and 0.0 <= metrics["hq_fraction"] <= 1.0
    assert math.isfinite(metrics["final"]["g_loss"])
    assert (out / "samples.png").read_bytes()[:4] == b"\x89PNG"
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "temporary file left"


@pytest.mark.parametrize("objective", ["wgan-gp", "kernel-gan", "mmd-rq*"])
def test_resume_continues_exactly(objective, tmp_path):
    """N steps in one go == N/2 steps, stop, --resume for the rest: identical losses."""
    steps = 6
    full = train(tiny_config(tmp_path, objective=objective, steps=steps, log_every=1,
                             out=str(tmp_path / "full")))
    half = tiny_config(tmp_path, objective=objective, steps=steps, log_every=1,
                       out=str(tmp_path / "split"))
    first = train(half.replace(stop_at=steps // 2))
    assert first.metrics == {"status": "stopped", "step": steps // 2}
    assert load(tmp_path / "split" / CHECKPOINT)["step"] == steps // 2
    second = train(half.replace(resume=True))
    drop = ("time_s",)
    a = [{k: v for k, v in r.items() if k not in drop} for r in _rows(tmp_path / "full")]
    b = [{k: v for k, v in r.items() if k not in drop} for r in _rows(tmp_path / "split")]
    assert len(a) == steps and a == b
    for p, q in zip(full.generator.parameters(), second.generator.parameters(), strict=True):
        assert torch.equal(p, q)
    assert full.metrics["hq_fraction"] == second.metrics["hq_fraction"]


def test_resume_refuses_other_settings(tmp_path):
    cfg = tiny_config(tmp_path, objective="ns-gan", steps=4, stop_at=2)
    train(cfg)
    with pytest.raises(ValueError, match="lr_g"):
        train(cfg.replace(resume=True, stop_at=None, lr_g=1.0))


@pytest.fixture
def nan_objective():
    """ns-gan whose generator loss turns NaN from step 6 on."""
    base = OBJECTIVES["ns-gan"]

    def gen(s):
        loss = gan.nonsaturating_generator_loss(scalar(s.critic(s.fake)))
        if s.step >= 5:
            loss = loss * float("nan")
        return loss, {"g_loss": loss}

    register_objective(Objective("test-nan", "test", "NaN at step 6", "scalar", gen,
                                 base.critic_loss, base.defaults))
    yield "test-nan"
    OBJECTIVES.pop("test-nan")


def test_nan_stops_and_keeps_the_last_good_checkpoint(nan_objective, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(NonFiniteLossError, match="step 6: generator loss = nan") as info:
        train(tiny_config(tmp_path, objective=nan_objective, steps=10, checkpoint_every=2))
    assert info.value.step == 6 and info.value.checkpoint_step == 4
    state = load(out / CHECKPOINT)
    assert state["step"] == 4
    assert all(torch.isfinite(t).all() for t in state["generator"].values())
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "diverged" and metrics["step"] == 6
    assert metrics["checkpoint_step"] == 4


def test_kid_learning_rate_halves_after_failures(tmp_path):
    """002 §4.1: with a significance level no test can reach, every test fails; patience 1
    halves both learning rates at each test (steps 4 and 6; step 2 only stores a snapshot)."""
    cfg = tiny_config(tmp_path, objective="ns-gan", steps=6, log_every=1, kid_lr=True,
                      kid_every=2, kid_lag=2, kid_patience=1, kid_level=1e-12, kid_samples=40)
    result = train(cfg)
    rows = _rows(tmp_path / "run")
    assert [r["kid_p"] for r in rows if r.get("kid_p")] != []
    lr0 = OBJECTIVES["ns-gan"].defaults["lr_g"]
    assert float(rows[-1]["lr_g"]) == pytest.approx(lr0 / 4)
    assert float(rows[-1]["lr_d"]) == pytest.approx(lr0 / 4)
    assert result.metrics["final"]["kid_halvings"] == 2


def test_bandwidth_schedules_scale_with_steps():
    paper = schedules.PAPER_SIGMAS
    for steps in (600, 60_000):
        sig = [schedules.bandwidth_at("anneal", i, steps, None) for i in range(steps)]
        assert sig[0] == 0.8 and sig[-1] == 0.025
        assert [sig[p * steps // 6] for p in range(6)] == list(paper)
        assert sig[steps // 6 - 1] == 0.8
    assert schedules.bandwidth_at("geometric", 0, 100, None) == pytest.approx(0.8)
    assert schedules.bandwidth_at("geometric", 99, 100, None) == pytest.approx(0.025)
    assert schedules.bandwidth_at("constant", 7, 100, (0.3,)) == 0.3
    rule = schedules.bandwidth_at("median", 0, 10, (2.0,))
    a, b = torch.randn(30, 2), torch.randn(20, 2)
    import kdecore as kd

    torch.testing.assert_close(schedules.resolve(rule, a, b), 2.0 * kd.bandwidth(a, b))
    with pytest.raises(ValueError, match="schedule"):
        schedules.bandwidth_at("nope", 0, 10, None)


def test_config_defaults_come_from_the_objective():
    from kdecore.train import resolve

    cfg = resolve(TrainConfig(objective="mmd-dist", steps=1000))
    assert (cfg.gp_weight, cfg.critic_features, cfg.act_penalty, cfg.n_critic) == (
        10.0, 256, 1e-4, 5)
    assert (cfg.lr_g, cfg.batch_size, cfg.kernel) == (1e-4, 64, "dist")
    assert resolve(TrainConfig(objective="wgan")).optimizer == "rmsprop"
    assert resolve(TrainConfig(objective="ns-gan", lr_g=1e-3)).lr_g == 1e-3
    cfg = resolve(TrainConfig(objective="kernel-gan", steps=20_000))
    assert (cfg.z_dim, cfg.g_hidden, cfg.g_last_act, cfg.schedule) == (
        100, (128, 128, 128), "tanh", "anneal")
    assert (cfg.log_every, cfg.sample_every, cfg.checkpoint_every) == (100, 2000, 2000)


def test_config_errors_name_the_field():
    with pytest.raises(ValueError, match="unknown config key 'stepz'"):
        from_mapping({"stepz": 3})
    with pytest.raises(TypeError, match="steps"):
        from_mapping({"steps": "many"})
    with pytest.raises(ValueError, match="unknown objective"):
        train(TrainConfig(objective="nope"))
    with pytest.raises(ValueError, match="alpha"):
        train(TrainConfig(objective="poole-alpha", alpha=1.0))
    with pytest.raises(ValueError, match="stop_at"):
        train(TrainConfig(steps=3, stop_at=5))
    assert from_mapping({"g-hidden": "64,32", "betas": [0.5, 0.9]}).g_hidden == (64, 32)
