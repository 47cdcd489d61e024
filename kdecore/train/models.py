"""Networks of the trainer: MLPs for low-dimensional data, DCGAN-style convolutional networks
for 8×8 / 16×16 / 32×32 images (002 §5: critic width and top-layer size as parameters), and an
autoencoder for the code-space objectives (GMMN-AE, feature-space Kernel GAN, 000 §3.2).

Critics return ``(B, features)``; ``forward(x, with_activations=True)`` also returns the hidden
activations, for the MMD GAN activation penalty (002 §5, footnote 19).
"""

from __future__ import annotations

import math

from torch import Tensor, nn

#: hidden-layer activations by name (a registry, not an if-chain).
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU, "tanh": nn.Tanh, "leaky_relu": nn.LeakyReLU, "elu": nn.ELU,
    "softplus": nn.Softplus, "sigmoid": nn.Sigmoid,
}


def activation(name: str) -> nn.Module:
    try:
        cls = ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; known: {', '.join(ACTIVATIONS)}") from None
    return cls(0.2) if cls is nn.LeakyReLU else cls()


class MLP(nn.Module):
    """in → hidden[0] → … → hidden[-1] → out, fully connected; ``act`` after each hidden layer
    (``last_act`` after the last one, when given), no activation on the output."""

    def __init__(self, n_in: int, hidden: tuple[int, ...], n_out: int, act: str = "relu",
                 last_act: str | None = None) -> None:
        super().__init__()
        self.hidden = nn.ModuleList()
        self.acts = nn.ModuleList()
        width = n_in
        for i, h in enumerate(hidden):
            self.hidden.append(nn.Linear(width, h))
            name = last_act if (last_act and i == len(hidden) - 1) else act
            self.acts.append(activation(name))
            width = h
        self.head = nn.Linear(width, n_out)

    def forward(self, x: Tensor, with_activations: bool = False):
        acts = []
        h = x.flatten(1)
        for lin, act in zip(self.hidden, self.acts, strict=True):
            h = act(lin(h))
            acts.append(h)
        out = self.head(h)
        return (out, acts) if with_activations else out


def _levels(size: int) -> int:
    """Stride-2 stages between 4×4 and size×size (8 → 1, 16 → 2, 32 → 3)."""
    if size not in (8, 16, 32):
        raise ValueError(f"DCGAN networks take 8×8, 16×16 or 32×32 images, got {size}×{size}")
    return int(math.log2(size)) - 2


class DCGANGenerator(nn.Module):
    """z → linear → (w·2^(L−1), 4, 4) → [ConvTranspose 4×4/2, BN, ReLU] → … → C×size×size, tanh
    (Radford et al. 2016), with w = ``width`` filters before the output layer."""

    def __init__(self, z_dim: int, channels: int, size: int, width: int = 64) -> None:
        super().__init__()
        levels = _levels(size)
        c = width * 2 ** (levels - 1)
        self.start = (c, 4, 4)
        self.project = nn.Sequential(nn.Linear(z_dim, c * 16), nn.BatchNorm1d(c * 16), nn.ReLU())
        layers: list[nn.Module] = []
        for _ in range(levels - 1):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2),
                       nn.ReLU()]
            c //= 2
        layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.body(self.project(z).view(z.shape[0], *self.start))


class DCGANCritic(nn.Module):
    """C×size×size → [Conv 4×4/2, LeakyReLU 0.2] with f, 2f, 4f filters → linear → features
    (002 §5: f = ``width`` ∈ {16, 64}; 16 top-layer features, 256 for the distance kernel).
    No batch normalization (gradient penalties act per sample)."""

    def __init__(self, channels: int, size: int, features: int = 1, width: int = 64) -> None:
        super().__init__()
        self.convs = nn.ModuleList()
        c_in, c = channels, width
        for _ in range(_levels(size)):
            self.convs.append(nn.Conv2d(c_in, c, 4, 2, 1))
            c_in, c = c, c * 2
        self.act = nn.LeakyReLU(0.2)
        self.head = nn.Linear(c_in * 16, features)

    def forward(self, x: Tensor, with_activations: bool = False):
        acts = []
        h = x
        for conv in self.convs:
            h = self.act(conv(h))
            acts.append(h)
        out = self.head(h.flatten(1))
        return (out, acts) if with_activations else out


class AutoEncoder(nn.Module):
    """encoder f_ψ: x → code, decoder: code → x. ``forward(x)`` returns (code, reconstruction)."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, sample_shape: tuple[int, ...]):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.sample_shape = sample_shape

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(x)

    def decode(self, code: Tensor) -> Tensor:
        return self.decoder(code).view(code.shape[0], *self.sample_shape)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        code = self.encode(x)
        return code, self.decode(code)


class VectorGenerator(nn.Module):
    """An MLP generator whose output is reshaped to the sample shape."""

    def __init__(self, mlp: MLP, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.mlp = mlp
        self.shape = shape

    def forward(self, z: Tensor) -> Tensor:
        return self.mlp(z).view(z.shape[0], *self.shape)


def generator(z_dim: int, shape: tuple[int, ...], *, hidden: tuple[int, ...],
              last_act: str | None, width: int) -> nn.Module:
    """The generator for samples of ``shape``: DCGAN for images, an MLP for vectors."""
    if len(shape) == 3:
        return DCGANGenerator(z_dim, shape[0], shape[1], width)
    return VectorGenerator(MLP(z_dim, hidden, math.prod(shape), "relu", last_act), shape)


def critic(shape: tuple[int, ...], features: int, *, hidden: tuple[int, ...], width: int,
           pack: int = 1) -> nn.Module:
    """The critic for samples of ``shape`` (packed ``pack`` at a time, PacGAN: the input layer
    grows by that factor), returning ``features`` outputs per (packed) sample."""
    if len(shape) == 3:
        return DCGANCritic(shape[0] * pack, shape[1], features, width)
    return MLP(math.prod(shape) * pack, hidden, features, "leaky_relu")


def autoencoder(shape: tuple[int, ...], code_dim: int, *, hidden: tuple[int, ...],
                width: int) -> AutoEncoder:
    """A DCGAN-style convolutional autoencoder for images, an MLP one for vectors."""
    if len(shape) == 3:
        enc = DCGANCritic(shape[0], shape[1], code_dim, width)
        dec = DCGANGenerator(code_dim, shape[0], shape[1], width)
        return AutoEncoder(enc, dec, shape)
    d = math.prod(shape)
    return AutoEncoder(MLP(d, hidden, code_dim, "leaky_relu"),
                       MLP(code_dim, tuple(reversed(hidden)), d, "leaky_relu"), shape)


__all__ = ["ACTIVATIONS", "MLP", "AutoEncoder", "DCGANCritic", "DCGANGenerator",
           "autoencoder", "critic", "generator"]
