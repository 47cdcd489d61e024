"""A fast CPU binder for KeOps formulas: the same generated C++, loaded through ctypes.

On the CPU, pykeops turns every formula into a pybind11 extension module. Compiling it takes
about 8–10 s on a 2-core machine, and over 90 % of that is parsing the pybind11 and Python
headers (measured: the KeOps-generated code alone compiles in ≈ 0.3 s, a pybind11 "hello
world" in ≈ 9 s with pykeops' flags). KeOps' first-call compile delay is its most common
complaint (PEERS.md; keops#440).

This binder keeps everything pykeops does — formula parsing, symbolic autodiff, code
generation by ``keopscore``, the generated C++ entry point ``launch_keops_cpu_<tag>`` and its
arguments, the cache folder, the compiler and flags — and replaces only the pybind11 module by a
20-line ``extern "C"`` wrapper called with ctypes: ≈ 1 s per formula instead of ≈ 10 s.

It is used only around this backend's own calls (:func:`cpu_binder`, which swaps pykeops'
``keops_binder["cpp"]`` entry under a lock and restores it), so other pykeops users in the
process are untouched. ``KDECORE_KEOPS_BINDER=pykeops`` switches it off; if it fails (another
pykeops version with other internals), the backend falls back to pykeops' own binder and says
why in :data:`disabled_reason`.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pykeops.config as pykeops_config
from pykeops.common.keops_io import keops_binder
from pykeops.common.keops_io.LoadKeOps import LoadKeOps

#: why the ctypes binder is not used (None: it is used).
disabled_reason: str | None = (
    "switched off by KDECORE_KEOPS_BINDER=pykeops"
    if os.environ.get("KDECORE_KEOPS_BINDER", "ctypes").lower() == "pykeops" else None)

_WRAPPER = r"""
#include "{source}"
#include <vector>

extern "C" int kdecore_launch(
    long dimY, long nx, long ny, int tagI, int tagZero, int use_half, long dimred,
    int use_chunk_mode, const int* indsi, int n_indsi, const int* indsj, int n_indsj,
    const int* indsp, int n_indsp, long dimout, const long* dimsx, int n_dimsx,
    const long* dimsy, int n_dimsy, const long* dimsp, int n_dimsp, long** ranges,
    const long* shapeout, int n_shapeout, void* out, void** args, const long* argshapes,
    const int* argshape_lens, int nargs) {{
  std::vector<int> vi(indsi, indsi + n_indsi), vj(indsj, indsj + n_indsj),
      vp(indsp, indsp + n_indsp);
  std::vector<signed long int> dx(dimsx, dimsx + n_dimsx), dy(dimsy, dimsy + n_dimsy),
      dp(dimsp, dimsp + n_dimsp), so(shapeout, shapeout + n_shapeout);
  std::vector<std::vector<signed long int>> shapes(nargs);
  const long* s = argshapes;
  for (int k = 0; k < nargs; k++) {{
    shapes[k].assign(s, s + argshape_lens[k]);
    s += argshape_lens[k];
  }}
  return launch_keops_cpu_{tag}<{ctype}>(
      dimY, nx, ny, tagI, tagZero, use_half, dimred, use_chunk_mode, vi, vj, vp, dimout,
      dx, dy, dp, (signed long int**) ranges, so, ({ctype}*) out, ({ctype}**) args, shapes);
}}
"""


def _array(ctype, values: Sequence[int]):
    values = list(values)
    return (ctype * max(len(values), 1))(*values), len(values)


class CtypesCpuLoader(LoadKeOps):
    """pykeops' CPU loader with the pybind11 module replaced by a C-ABI library (see module
    docstring). pykeops calls ``init_phase1`` (build), ``init_phase2`` (load) and
    ``call_keops`` (run) exactly as for its own loader."""

    def _library(self) -> str:
        folder = pykeops_config.pykeops_base.get_build_folder()
        return os.path.join(folder, f"kdecore_cpu_{self.params.tag}.so")

    def init_phase1(self) -> None:
        lib = self._library()
        if os.path.exists(lib):
            return
        base = pykeops_config.pykeops_base
        fd, src = tempfile.mkstemp(suffix=".cpp", prefix="kdecore_", dir=os.path.dirname(lib))
        with os.fdopen(fd, "w") as f:
            f.write(_WRAPPER.format(source=self.params.source_name, tag=self.params.tag,
                                    ctype=self.params.c_dtype))
        tmp = src[:-4] + ".so"
        cmd = [base.get_cxx_compiler(), *base.get_cpp_flags().split(), src, "-o", tmp]
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, check=False)
        finally:
            os.remove(src)
        if res.returncode != 0:
            raise RuntimeError(f"compiling KeOps formula {self.params.tag} failed: "
                               f"{res.stderr[-2000:]}")
        os.replace(tmp, lib)  # atomic: concurrent processes never load a partial library

    def init_phase2(self) -> None:
        self._launch = ctypes.CDLL(self._library()).kdecore_launch
        self._launch.restype = ctypes.c_int

    def call_keops(self, nx: int, ny: int) -> None:
        p = self.params
        lng, cint = ctypes.c_long, ctypes.c_int
        indsi, n_i = _array(cint, p.indsi)
        indsj, n_j = _array(cint, p.indsj)
        indsp, n_p = _array(cint, p.indsp)
        dimsx, n_dx = _array(lng, p.dimsx)
        dimsy, n_dy = _array(lng, p.dimsy)
        dimsp, n_dp = _array(lng, p.dimsp)
        shapeout, n_so = _array(lng, self.outshape)
        ranges = (ctypes.c_void_p * len(self.ranges_ptr_new))(*self.ranges_ptr_new)
        args = (ctypes.c_void_p * len(self.args_ptr_new))(*self.args_ptr_new)
        shapes, _ = _array(lng, [v for shape in self.argshapes_new for v in shape])
        lens, _ = _array(cint, [len(shape) for shape in self.argshapes_new])
        status = self._launch(
            lng(p.dimy), lng(nx), lng(ny), cint(p.tagI), cint(p.tagZero),
            cint(int(p.use_half)), lng(p.dimred), cint(int(p.use_chunk_mode)),
            indsi, cint(n_i), indsj, cint(n_j), indsp, cint(n_p), lng(p.dim),
            dimsx, cint(n_dx), dimsy, cint(n_dy), dimsp, cint(n_dp), ranges, shapeout,
            cint(n_so), ctypes.c_void_p(self.out_ptr), args, shapes, lens,
            cint(len(self.args_ptr_new)))
        if status != 0:
            raise RuntimeError(f"KeOps formula {p.tag} returned status {status}")


_loaders: dict[str, CtypesCpuLoader] = {}
_lock = threading.RLock()


def _loader(*args) -> CtypesCpuLoader:
    """Drop-in for pykeops' cached ``keops_binder["cpp"]`` factory (same arguments)."""
    key = "".join(str(a) for a in args)
    if key not in _loaders:
        _loaders[key] = CtypesCpuLoader(*args, fast_init=False)
    return _loaders[key]


def disable(reason: str) -> None:
    """Use pykeops' own binder from now on (called when the ctypes binder fails)."""
    global disabled_reason
    disabled_reason = reason


@contextmanager
def cpu_binder() -> Iterator[None]:
    """Route pykeops' CPU calls made inside the block through the ctypes binder (unless it is
    disabled). Holds a lock, so concurrent threads of this backend take turns."""
    with _lock:
        if disabled_reason is not None:
            yield
            return
        saved = keops_binder["cpp"]
        keops_binder["cpp"] = _loader
        try:
            yield
        finally:
            keops_binder["cpp"] = saved
