"""Compile the backend's kernels for a GPU target without a GPU (Triton's own compiler and
bundled ``ptxas``): the check CI can run of the code path the interpreter does not exercise
(loop-carried types, layouts, shared-memory limits are compile-time matters).

    TRITON_INTERPRET=0 python -m kdecore._kernels.triton.aot [ARCH] [--all]   # ARCH 90: H100

Each representative specialization below is compiled with the first configuration the
autotuner would try on a GPU; one line per kernel says OK or the compiler's error, and the exit
status is the number of failures. Must run with the interpreter off (a fresh process).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import torch
import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource

from . import launch, lse_kernel, mmd_kernel, nearest_kernel, row_pass, runtime, sums_kernel

RBF, MIX, RQSTAR, POLY, ALL = ((1, 0, 0, 0, 0, 0), (3, 0, 0, 0, 0, 0), (0, 0, 5, 1, 0, 0),
                               (0, 0, 0, 0, 1, 0), (1, 1, 1, 1, 1, 1))


@dataclass(frozen=True)
class Spec:
    """One specialization: the autotuned kernel, its float pointers, constexprs, dtype."""

    name: str
    kernel: triton.runtime.Autotuner
    kind: str
    constexprs: dict
    d: int
    dtype: str = "fp32"


def _sums(name, fam, d, **flags) -> Spec:
    need_r2, need_dot = (flags.pop("need_r2", True), flags.pop("need_dot", False))
    c = dict(FAM=fam, NEED_R2=need_r2, NEED_DOT=need_dot, DIRECT_D=runtime.direct_d(d),
             FAST_RBF=False, WITHIN=False, DO_ROWS=True, DO_COLS=False, DO_SQ=False,
             HAS_WX=False, HAS_WY=False, PREC="tf32x3") | flags
    return Spec(name, sums_kernel.sums_fwd, "fwd", c, d)


def _rows(name, fam, d, **flags) -> Spec:
    need_r2, need_dot = (flags.pop("need_r2", True), flags.pop("need_dot", False))
    c = dict(FAM=fam, NEED_R2=need_r2, NEED_DOT=need_dot, DIRECT_D=runtime.direct_d(d),
             WITHIN=False, HAS_AB=True, HAS_CE=False, HAS_SQ=False, HAS_SHIFT=False,
             NEED_GX=True, NEED_GC=False, NEED_TH=False, NEED_GS=False, PREC="tf32x3",
             BD=runtime.next_pow2(min(max(d, 16), 64)), PB=32) | flags
    return Spec(name, row_pass.row_pass_kernel, "bwd", c, d)


#: what CI compiles (one specialization per kernel, covering every flag of each) ...
REPRESENTATIVE = [
    _sums("sums: rq* within-set, weights, squares", RQSTAR, 32, need_dot=True, WITHIN=True,
          DO_COLS=True, DO_SQ=True, HAS_WX=True, HAS_WY=True),
    _rows("row pass: rbf + dot + distance, every output", (1, 0, 0, 1, 0, 1), 16,
          need_dot=True, HAS_CE=True, HAS_SQ=True, NEED_GC=True, NEED_TH=True, NEED_GS=True),
    Spec("log-sum-exp: rq + laplacian", lse_kernel.lse_fwd, "fwd",
         dict(FAM=(0, 1, 2, 0, 0, 0), DIRECT_D=0, WITHIN=True, HAS_LW=True, PREC="tf32x3"), 16),
    Spec("nearest", nearest_kernel.nearest_fwd, "fwd",
         dict(DIRECT_D=0, WITHIN=False, PREC="tf32x3"), 16),
    Spec("MMD: KID polynomial, K-loop d = 2048", mmd_kernel.mmd_fwd, "fwd",
         dict(FAM=POLY, NEED_R2=False, NEED_DOT=True, DIRECT_D=0, FAST_RBF=False, DO_SQ=True,
              WITHIN=True, PREC="tf32x3"), 2048),
]
#: ... and what ``--all`` adds: the fast path, the log-domain backward, the backward K-loop,
#: float64 and the opt-in precisions.
EXTENDED = [
    _sums("sums: one Gaussian, fast path", RBF, 16, FAST_RBF=True),
    _sums("sums: one Gaussian, bf16 products", RBF, 16, FAST_RBF=True, PREC="bf16"),
    _sums("sums: all families, direct differences (d = 3)", ALL, 3, need_dot=True,
          DO_COLS=True, DO_SQ=True),
    _rows("row pass: Gaussian mixture, log-domain shift, within, θ", MIX, 16, WITHIN=True,
          HAS_SHIFT=True, NEED_TH=True),
    _rows("row pass: all families, every output, K-loop", ALL, 100, need_dot=True, HAS_CE=True,
          HAS_SQ=True, NEED_GC=True, NEED_TH=True, NEED_GS=True),
    Spec("sums: float64, all families", sums_kernel.sums_fwd, "fwd",
         dict(FAM=ALL, NEED_R2=True, NEED_DOT=True, DIRECT_D=0, FAST_RBF=False, WITHIN=False,
              DO_ROWS=True, DO_COLS=True, DO_SQ=True, HAS_WX=True, HAS_WY=True, PREC="ieee"),
         16, "fp64"),
    Spec("MMD: KID polynomial, tf32", mmd_kernel.mmd_fwd, "fwd",
         dict(FAM=POLY, NEED_R2=False, NEED_DOT=True, DIRECT_D=0, FAST_RBF=False, DO_SQ=True,
              WITHIN=True, PREC="tf32"), 2048),
]

#: pointer arguments that hold float64 accumulators or int64 indices, whatever the dtype.
_F64 = {"ROWS", "COLS", "SQ", "GC", "GTH", "GS", "SAME", "CROSS"}
_I64 = {"OUTI"}


def compile_spec(spec: Spec, target: GPUTarget) -> triton.compiler.CompiledKernel:
    torch_dtype = torch.float64 if spec.dtype == "fp64" else torch.float32
    consts = {**spec.constexprs, **runtime.k_block(spec.d)}
    config = launch.pruner(spec.kind)(launch.candidates(spec.kind),
                                      {"XC": torch.empty(1, dtype=torch_dtype)}, **consts)[0]
    consts |= config.kwargs
    jit = spec.kernel.fn
    signature = {}
    for arg in jit.arg_names:
        if arg in consts:
            signature[arg] = "constexpr"
        elif arg in _F64:
            signature[arg] = "*fp64"
        elif arg in _I64:
            signature[arg] = "*i64"
        elif arg.isupper() and arg not in ("M", "N", "P", "NZ", "MX", "SIZE"):
            signature[arg] = f"*{spec.dtype}"
        else:
            signature[arg] = "i32"
    src = ASTSource(fn=jit, signature=signature, constexprs=consts)
    return triton.compile(src, target=target, options={"num_warps": config.num_warps,
                                                        "num_stages": config.num_stages})


def main(arch: int = 90, everything: bool = False) -> int:
    if runtime.interpreting():
        print("aot: the interpreter is on (TRITON_INTERPRET); run in a fresh process without it")
        return 1
    target = GPUTarget("cuda", arch, 32)
    failures = 0
    for spec in REPRESENTATIVE + (EXTENDED if everything else []):
        try:
            k = compile_spec(spec, target)
            print(f"OK    {spec.name} (shared memory {k.metadata.shared} B)")
        except Exception as exc:  # report every failure, not just the first
            failures += 1
            print(f"ERROR {spec.name}: {type(exc).__name__}: {exc}")
    return failures


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--all"]
    sys.exit(main(int(args[0]) if args else 90, everything="--all" in sys.argv))
