"""The triton backend (under construction; see kdecore._kernels for the contract)."""

NAME = "triton"


def unavailable_reason() -> str | None:
    return "the triton backend is not built yet"
