"""Scores from a classifier's predicted class probabilities p(y|x) (SPEC §7).

With p(y|x_i) the rows of an (n, C) probability table of generated samples, logs natural:

- Inception-style score (Salimans et al. 2016; 001 eq. 2; 002 §4):
  IS = exp(E_x KL(p(y|x) ‖ p(y))), p(y) = E_x p(y|x) the marginal over the samples; computed
  on ``splits`` consecutive chunks of near-equal size, reported as mean and std (ddof 0, as
  Salimans et al.'s code) over chunks.
- Mode score (001 eq. 3, as written there after Xu et al. 2018):
  MS = exp(E_x KL(p(y|x) ‖ p(y)) − KL(p(y) ‖ p(y*))), p(y*) = E_{x~data} p(y|x) the marginal
  over real samples. (Che et al. 2017's original puts p(y*) in the first KL; that first term is
  the classifier score below with the classifier's marginal on real data as reference.)
- Classifier score, "LeNet score" LS (000 §3.3): exp(E_x KL(p(y|x) ‖ π)), π the class
  frequencies of the training set (9.75 for the MNIST test set in 000 Table 1, out of 10).
- Expected entropy EE (000 §3.3): E_x H(p(y|x)) = −E_x Σ_y p(y|x) log p(y|x) (low = confident
  classifier = high fidelity; 0.023 for the MNIST test set in 000 Table 1).

All in float64, with 0 log 0 = 0 (``torch.special.xlogy``).
"""

from __future__ import annotations

import torch
from torch import Tensor

from kdecore.validation import as_points

from .stream import DEFAULT_CHUNK, FeatureFn, StreamMetric, check_int

#: tolerance on |Σ_y p(y|x) − 1| for a probability table
ROW_SUM_TOL = 1e-3


def check_probs(probs: object, name: str = "probs") -> Tensor:
    """An (n, C) table of probabilities (non-negative rows summing to 1 within 1e-3), returned
    in float64 with rows renormalized."""
    p = as_points(probs, name).double()
    if bool((p < 0).any()):
        raise ValueError(f"{name} must be non-negative (probabilities; pass logits through "
                         f"probabilities() first)")
    err = float((p.sum(1) - 1.0).abs().max())
    if err > ROW_SUM_TOL:
        raise ValueError(f"the rows of {name} must sum to 1 (probabilities), off by up to "
                         f"{err:.3g}; pass logits through probabilities() first")
    return p / p.sum(1, keepdim=True)


def check_distribution(freq: object, n_classes: int, name: str) -> Tensor:
    """A (C,) vector of non-negative class weights or counts, normalized to sum 1 (float64)."""
    if not isinstance(freq, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(freq).__name__}")
    if freq.dim() != 1 or freq.shape[0] != n_classes:
        raise ValueError(f"{name} must have shape ({n_classes},) (one entry per class), got "
                         f"{tuple(freq.shape)}")
    f = freq.double()
    if not bool(torch.isfinite(f).all()) or bool((f < 0).any()) or not bool(f.sum() > 0):
        raise ValueError(f"{name} must be finite, non-negative and not all zero")
    return f / f.sum()


def probabilities(logits: Tensor) -> Tensor:
    """softmax(logits) over the last dimension, in float64: an (n, C) probability table."""
    return torch.softmax(as_points(logits, "logits").double(), dim=1)


def entropy(p: Tensor) -> Tensor:
    """H(p) = −Σ_y p_y log p_y per row."""
    return -torch.special.xlogy(p, p).sum(-1)


def kl_rows(p: Tensor, q: Tensor) -> Tensor:
    """KL(p_i ‖ q) = Σ_y p_iy (log p_iy − log q_y) per row of p (q broadcast); +inf where q
    misses mass that p has."""
    return (torch.special.xlogy(p, p) - torch.special.xlogy(p, q.expand_as(p))).sum(-1)


def expected_entropy(probs: Tensor) -> Tensor:
    """EE = E_x H(p(y|x))  (000 §3.3), a float64 0-d tensor (nats)."""
    return entropy(check_probs(probs)).mean()


def inception_score(probs: Tensor, splits: int = 1) -> tuple[Tensor, Tensor]:
    """IS = exp(E_x KL(p(y|x) ‖ p(y)))  (001 eq. 2; Salimans et al. 2016) on ``splits``
    consecutive chunks of the rows, as (mean, std) over chunks (std 0 for one split)."""
    p = check_probs(probs)
    splits = check_int(splits, "splits", 1)
    if splits > p.shape[0]:
        raise ValueError(f"splits={splits} is larger than the number of samples "
                         f"{p.shape[0]}")
    scores = torch.stack([torch.exp(kl_rows(c, c.mean(0)).mean())
                          for c in p.tensor_split(splits)])
    return scores.mean(), scores.std(unbiased=False)


def mode_score(probs: Tensor, real_probs: Tensor) -> Tensor:
    """MS = exp(E_x KL(p(y|x) ‖ p(y)) − KL(p(y) ‖ p(y*)))  (001 eq. 3), p(y) the marginal of
    ``probs`` (generated), p(y*) that of ``real_probs`` (data)."""
    p = check_probs(probs)
    r = check_probs(real_probs, "real_probs")
    if r.shape[1] != p.shape[1]:
        raise ValueError(f"probs and real_probs must have the same number of classes, got "
                         f"{p.shape[1]} and {r.shape[1]}")
    marginal = p.mean(0)
    return torch.exp(kl_rows(p, marginal).mean() - kl_rows(marginal, r.mean(0)))


def classifier_score(probs: Tensor, class_freq: Tensor) -> Tensor:
    """LS = exp(E_x KL(p(y|x) ‖ π))  (000 §3.3, "LeNet score"), π = ``class_freq`` the class
    frequencies of the training set (counts or probabilities, normalized here)."""
    p = check_probs(probs)
    pi = check_distribution(class_freq, p.shape[1], "class_freq").to(p.device)
    return torch.exp(kl_rows(p, pi).mean())


#: how a classifier's output turns into probabilities
OUTPUTS = {"logits": probabilities, "probs": check_probs}


class ClassifierScores(StreamMetric):
    """All classifier scores in one pass: ``update(batch, real=False)`` adds generated samples,
    ``update(batch, real=True)`` data (only needed for the mode score).

    Args:
        classifier: maps a batch to logits (``outputs="logits"``, e.g. a
            :class:`~kdecore.train.metrics.lenet.DigitsLeNet`) or to probabilities
            (``outputs="probs"``); None when batches are already logits/probabilities.
        class_freq: training-set class frequencies π for the classifier score (LS); without it
            LS is left out.
        splits: chunks for the Inception-style score.

    ``compute()`` → ``{"inception_score", "inception_score_std", "expected_entropy"}``, plus
    ``"classifier_score"`` with ``class_freq`` and ``"mode_score"`` once real batches were seen.
    """

    def __init__(self, classifier: FeatureFn | None = None, *, outputs: str = "logits",
                 class_freq: Tensor | None = None, splits: int = 1,
                 device: torch.device | str | None = None, chunk: int = DEFAULT_CHUNK) -> None:
        super().__init__(classifier, device=device, chunk=chunk)
        if outputs not in OUTPUTS:
            raise ValueError(f"outputs must be one of {', '.join(OUTPUTS)}, got {outputs!r}")
        self.outputs = outputs
        self.splits = check_int(splits, "splits", 1)
        if class_freq is not None:
            if not isinstance(class_freq, Tensor) or class_freq.dim() != 1:
                raise ValueError("class_freq must be a 1-D tensor (one entry per class)")
            class_freq = check_distribution(class_freq, class_freq.shape[0], "class_freq")
        self.class_freq = class_freq

    def probs(self, side: str) -> Tensor:
        """The accumulated p(y|x) of one side, (n, C) float64."""
        return OUTPUTS[self.outputs](self.gathered(side))

    def compute(self) -> dict[str, float]:
        p = self.probs("fake")
        is_mean, is_std = inception_score(p, self.splits)
        out = {"inception_score": float(is_mean), "inception_score_std": float(is_std),
               "expected_entropy": float(expected_entropy(p))}
        if self.class_freq is not None:
            out["classifier_score"] = float(classifier_score(p, self.class_freq.to(p.device)))
        if self._feats["real"]:
            out["mode_score"] = float(mode_score(p, self.probs("real")))
        return out


class InceptionScore(ClassifierScores):
    """Inception-style score over a stream (generated samples only) →
    ``{"inception_score", "inception_score_std"}``."""

    sides = ("fake",)

    def compute(self) -> dict[str, float]:
        mean, std = inception_score(self.probs("fake"), self.splits)
        return {"inception_score": float(mean), "inception_score_std": float(std)}


class ExpectedEntropy(ClassifierScores):
    """Expected entropy EE over a stream (generated samples only) → ``{"expected_entropy"}``."""

    sides = ("fake",)

    def compute(self) -> dict[str, float]:
        return {"expected_entropy": float(expected_entropy(self.probs("fake")))}


class ClassifierScore(ClassifierScores):
    """Classifier score LS (000 §3.3) over a stream (generated samples only); ``class_freq``
    is required → ``{"classifier_score"}``."""

    sides = ("fake",)

    def __init__(self, classifier: FeatureFn | None = None, *, class_freq: Tensor,
                 outputs: str = "logits", device: torch.device | str | None = None,
                 chunk: int = DEFAULT_CHUNK) -> None:
        if class_freq is None:
            raise ValueError("class_freq is required (the training set's class frequencies)")
        super().__init__(classifier, outputs=outputs, class_freq=class_freq, device=device,
                         chunk=chunk)

    def compute(self) -> dict[str, float]:
        p = self.probs("fake")
        return {"classifier_score": float(classifier_score(p, self.class_freq.to(p.device)))}


class ModeScore(ClassifierScores):
    """Mode score (001 eq. 3) over streams of generated (real=False) and data (real=True)
    batches → ``{"mode_score"}``."""

    def compute(self) -> dict[str, float]:
        return {"mode_score": float(mode_score(self.probs("fake"), self.probs("real")))}


__all__ = ["ClassifierScore", "ClassifierScores", "ExpectedEntropy", "InceptionScore",
           "ModeScore", "check_probs", "classifier_score", "entropy", "expected_entropy",
           "inception_score", "kl_rows", "mode_score", "probabilities"]
