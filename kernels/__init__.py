"""kdecore's private backends (installed as ``kdecore._kernels``; only ``kdecore.dispatch``
imports them).

One folder per backend. Each backend package exposes this contract (SPEC §2):

``NAME``
    the name users pass as ``backend=``.
``unavailable_reason() -> str | None``
    why the backend cannot run in this process (missing package, failed compiler check),
    or None.
``device_reason(device) -> str | None``
    why it cannot run on ``device``, or None.
``sums(x, y, kernel, x_weights, y_weights, *, rows, cols, squares)``
    ``rows_i = Σ_j y_weights_j k(x_i, y_j)``, ``cols_j = Σ_i x_weights_i k(x_i, y_j)`` and
    ``squares = Σ_ij k(x_i, y_j)²``, each only when asked (else None). ``y=None`` is the
    within-set variant: Y = X with the diagonal j = i skipped (rows and squares only).
    Differentiable in x, y, both weights and ``kernel.tensors()``.
``logsumexp(x, y, kernel, y_log_weights)``
    ``L_i = log Σ_j exp(log w_j + log k(x_i, y_j))``; ``y=None`` skips j = i. Differentiable.
``nearest(x, y)``
    ``(min_j ‖x_i − y_j‖², argmin_j)``, not differentiable; ``y=None`` skips j = i.
``mmd_stats(x, y, kernel, *, squares)`` (optional)
    the row/column sums and squared totals of MMD² and its variance in one pass (returns
    :class:`kdecore.reductions.MMDStats`); the dispatcher composes ``sums`` when absent.

Inputs arrive validated: (n, d) float32/float64 tensors on one device, weights 1-D.
"""
