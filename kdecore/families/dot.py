"""Linear (dot-product) kernel (SPEC §1, dot)."""

from __future__ import annotations

from torch import Tensor

from ..tile import Tile
from .base import Kernel, register_family


@register_family("dot")
class Dot(Kernel):
    """k(x, y) = ⟨x, y⟩  (SPEC §1, dot; with the rq mixture it forms rq*, 002).

    MMD² with this kernel is ‖mean(X) − mean(Y)‖² (feature matching, SPEC §6).
    """

    def _matrix(self, tile: Tile) -> Tensor:
        return tile.dot
