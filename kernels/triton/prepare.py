"""Host-side, differentiable preparation of a call (SPEC §2): centring, θ and aux columns.

Everything here is ordinary PyTorch, so autograd carries the kernels' gradients with respect
to the centred points, θ and the aux columns back to the points, the weights and
``kernel.tensors()``. The centre (the pooled mean; 0 when no family reads r²) is a constant:
distances are translation invariant, and the dot offsets are added back exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from kdecore.families import Kernel

from ..torch.tiling import pooled_center
from .packing import Packed, pack


@dataclass(frozen=True)
class Prepared:
    packed: Packed
    center: Tensor
    xc: Tensor
    yc: Tensor | None
    aux_x: Tensor
    aux_y: Tensor

    @property
    def fam(self) -> list[int]:
        return list(self.packed.fam)


def prepare(x: Tensor, y: Tensor | None, kernel: Kernel) -> Prepared:
    """Centred points, θ, the structure tuple and aux columns of ``kernel`` on (x, y)."""
    packed = pack(kernel, x)
    if packed.need_r2:
        center = pooled_center(x, y)
        xc = x - center
        yc = None if y is None else y - center
    else:  # inner-product families only: no centring (and no copy of large inputs)
        center = x.new_zeros(x.shape[1])
        xc = x.contiguous()
        yc = None if y is None else y.contiguous()
    aux_x = packed.aux(x)
    aux_y = aux_x if y is None else packed.aux(y)
    return Prepared(packed, center, xc, yc, aux_x, aux_y)
