"""Run one large reduction and print the process's peak resident memory (for test_memory.py).

usage: python peak_memory.py N D {sum,within,sum-backward,mmd}
"""

from __future__ import annotations

import json
import sys
import time

import torch

import kdecore as kd


def peak_rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def main() -> None:
    n, d, what = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, d, generator=g)
    y = torch.randn(n, d, generator=g) + 0.1
    base = peak_rss_bytes()
    t0 = time.perf_counter()
    k = kd.RBF(1.0)
    if what == "sum":
        out = float(kd.kernel_sum(x, y, k).sum())
    elif what == "within":
        out = float(kd.pairwise_sums(x, None, k).rows.sum())
    elif what == "sum-backward":
        x.requires_grad_()
        s = kd.kernel_sum(x, y, k).sum()
        (gx,) = torch.autograd.grad(s, x)
        out = float(s.detach()) + float(gx.abs().sum())
    elif what == "mmd":
        out = float(kd.mmd2(x, y, k))
    else:
        raise SystemExit(f"unknown {what!r}")
    print(json.dumps({"n": n, "d": d, "what": what, "value": out,
                      "baseline_rss": base, "peak_rss": peak_rss_bytes(),
                      "seconds": time.perf_counter() - t0}))


if __name__ == "__main__":
    main()
