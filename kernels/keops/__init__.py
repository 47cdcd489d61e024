"""The keops backend (under construction; see kdecore._kernels for the contract)."""

NAME = "keops"


def unavailable_reason() -> str | None:
    return "the keops backend is not built yet"
