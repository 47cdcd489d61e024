"""DistributedDataParallel with 2 CPU processes on the gloo backend, set up the way torchrun
sets it up (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT): gradients are averaged,
so both ranks end with the same generator, and only rank 0 writes files."""

from __future__ import annotations

import csv
import json
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp
from tiny_runs import TINY

OBJECTIVES = ("mmd-rq*", "kernel-gan")
STEPS = 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, ports: list[int], tmp: str) -> None:
    torch.set_num_threads(1)
    from kdecore.train import train

    report = {}
    for objective, port in zip(OBJECTIVES, ports, strict=True):
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                          WORLD_SIZE=str(world), LOCAL_RANK=str(rank))
        result = train(**{**TINY, "objective": objective, "steps": STEPS, "log_every": 1,
                          "device": "cpu", "out": os.path.join(tmp, objective)})
        report[objective] = {
            "params": [p.detach().double().sum().item() for p in result.generator.parameters()],
            "rows": len(result.history), "status": result.metrics.get("status"),
        }
    with open(os.path.join(tmp, f"rank{rank}.json"), "w") as fh:
        json.dump(report, fh)


@pytest.mark.slow
def test_ddp_two_cpu_processes(tmp_path):
    ports = [_free_port() for _ in OBJECTIVES]
    mp.start_processes(_worker, args=(2, ports, str(tmp_path)), nprocs=2, join=True,
                       start_method="spawn")
    r0 = json.loads((tmp_path / "rank0.json").read_text())
    r1 = json.loads((tmp_path / "rank1.json").read_text())
    for objective in OBJECTIVES:
        assert r0[objective]["params"] == r1[objective]["params"], objective
        assert r0[objective]["rows"] == STEPS and r0[objective]["status"] == "finished"
        assert r1[objective]["rows"] == 0, "rank 1 logged rows"
        out = tmp_path / objective
        names = {p.name for p in out.iterdir()}
        assert names == {"metrics.csv", "metrics.json", "samples.png", "checkpoint.pt"}, names
        with (out / "metrics.csv").open() as fh:
            steps = [row["step"] for row in csv.DictReader(fh)]
        assert steps == ["1.0", "2.0", "3.0"]
