"""Host-side preparation shared by every Triton launch: per-point vectors and autotuning.

The kernels read centred points x̃ = x − c (c the pooled mean, a constant; 0 when no family
reads r²) and, once per point, ‖x̃‖² (accumulated in float64, then rounded) and the dot
offset α = ⟨x̃, c⟩ + ‖c‖²/2, so that ⟨x, y⟩ = ⟨x̃, ỹ⟩ + α_x + α_y.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import triton
from torch import Tensor

from . import runtime


@dataclass(frozen=True)
class Side:
    """One point set as the kernels read it: centred points, norms, dot offsets."""

    pts: Tensor
    norms: Tensor
    offsets: Tensor

    @property
    def n(self) -> int:
        return self.pts.shape[0]


def side(pts: Tensor, center: Tensor, need_r2: bool, need_dot: bool) -> Side:
    """``pts`` are already centred on ``center``."""
    pts = pts.contiguous()
    if need_r2:
        norms = pts.double().square().sum(1).to(pts.dtype)
    else:
        norms = pts.new_zeros(1)
    if need_dot:
        c = center.double()
        offsets = (pts.double() @ c + 0.5 * c.dot(c)).to(pts.dtype)
    else:
        offsets = pts.new_zeros(1)
    return Side(pts, norms, offsets)


def placeholder(like: Tensor) -> Tensor:
    """A 1-element tensor passed where a pointer argument is not read."""
    return like.new_zeros(1)


def cfg(bm: int, bn: int, warps: int, stages: int, bk: int | None = None) -> triton.Config:
    kw = {"BM": bm, "BN": bn} if bk is None else {"BM": bm, "BN": bn, "BK": bk}
    return triton.Config(kw, num_warps=warps, num_stages=stages)


#: GPU candidates, chosen from sm_90 compilations without register spills (bench/gpu_notes.md):
#: (kind, K-tile) → configs. "fwd": sums, log-sum-exp, nearest, MMD; "bwd": the row pass.
#: One K-tile (d ≤ 64): the launcher passes BK; K-loop (d > 64, KID): BK is tuned.
GPU_CONFIGS: dict[tuple[str, bool], list[triton.Config]] = {
    ("fwd", True): [cfg(128, 64, 4, 2), cfg(128, 128, 8, 2), cfg(64, 64, 4, 2),
                    cfg(128, 64, 8, 2), cfg(64, 64, 8, 2)],
    ("fwd", False): [cfg(128, 128, 8, 3, 16), cfg(128, 128, 8, 3, 32), cfg(64, 64, 4, 3, 32),
                     cfg(64, 64, 4, 4, 16)],
    ("bwd", True): [cfg(128, 64, 8, 2), cfg(64, 64, 4, 2), cfg(64, 64, 4, 3), cfg(64, 32, 4, 2)],
    ("bwd", False): [cfg(64, 64, 4, 3, 32), cfg(64, 32, 4, 3, 32), cfg(64, 64, 4, 4, 16)],
}
#: float64 (a correctness path on GPUs: FMA products, twice the registers): small tiles only.
GPU_CONFIGS_F64: dict[bool, list[triton.Config]] = {
    True: [cfg(32, 32, 4, 1)],
    False: [cfg(32, 32, 4, 1, 16)],
}


def candidates(kind: str) -> list[triton.Config]:
    """Every configuration a kernel of ``kind`` may take (the autotuner prunes per call)."""
    if runtime.interpreting():
        b = runtime.INTERPRETER_BLOCK
        return [triton.Config({"BM": b, "BN": b}, num_warps=1)]
    out: list[triton.Config] = []
    for cs in [GPU_CONFIGS[(kind, True)], GPU_CONFIGS[(kind, False)],
               *GPU_CONFIGS_F64.values()]:
        out.extend(c for c in cs if c not in out)
    return out


#: a structure with more components than this keeps ≤ 32 tile elements per thread: each
#: component holds its own exponent tile live (sm_90 compilations spilled at 64 per thread).
HEAVY_COMPONENTS = 2


def elements_per_thread(c: triton.Config) -> int:
    return c.kwargs["BM"] * c.kwargs["BN"] // (32 * c.num_warps)


def pruner(kind: str) -> Callable[..., list[triton.Config]]:
    """``early_config_prune`` for kernels of ``kind``: the candidates of the call's dtype and
    K-tiling, square tiles for within-set triangles, small per-thread tiles for mixtures."""

    def prune(configs: list, nargs: dict, **kwargs: object) -> list:
        if runtime.interpreting():
            return configs
        args = {**nargs, **kwargs}
        one_k = bool(args.get("ONE_K", True))
        pts = next(v for v in args.values() if isinstance(v, Tensor))
        want = (GPU_CONFIGS_F64[one_k] if pts.dtype == torch.float64
                else GPU_CONFIGS[(kind, one_k)])
        keep = [c for c in configs if c in want]
        if args.get("WITHIN", False):
            keep = [c for c in keep if c.kwargs["BM"] == c.kwargs["BN"]]
        if sum(args.get("FAM", ())) > HEAVY_COMPONENTS:
            keep = [c for c in keep if elements_per_thread(c) <= 32] or keep
        return keep or [want[0]]

    return prune


def grid2(m: int, n: int, device: torch.device, square_from_diag: bool = False
          ) -> Callable[[dict], tuple[int, int]]:
    """(row blocks, column splits) for an m×n problem."""

    def grid(meta: dict) -> tuple[int, int]:
        rb = triton.cdiv(m, meta["BM"])
        cb = triton.cdiv(n, meta["BN"])
        if square_from_diag:  # a triangle: on average half the column blocks per row block
            cb = max(1, (cb + 1) // 2)
        return rb, runtime.splits(rb, cb, device)

    return grid
