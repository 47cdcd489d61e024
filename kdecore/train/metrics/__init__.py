"""Evaluation metrics of the trainer layer (SPEC §7), each in a functional form (tensors in,
tensors out) and a module form (a :class:`~.stream.StreamMetric`: ``update(batch, real=...)``,
``compute() -> dict[str, float]``, ``reset()``).

Metrics (functional form / module form, file):

- KID (SPEC §4.4): ``kid`` / ``KID`` (kid_fid)
- FID: ``fid``, ``frechet_distance`` / ``FID`` (kid_fid)
- Inception-style score, mode score, classifier score LS, expected entropy EE:
  ``inception_score``, ``mode_score``, ``classifier_score``, ``expected_entropy`` /
  ``ClassifierScores`` (all at once), ``InceptionScore``, ``ModeScore``, ``ClassifierScore``,
  ``ExpectedEntropy`` (classifier_scores)
- MMD², JSD-F/JSD-S, ENN: ``mmd2``, ``jsd``, ``enn`` / ``MMD``, ``JSD``, ``ENN`` (kernel)
- 1-NN two-sample accuracy: ``one_nn_accuracy`` / ``OneNNAccuracy`` (two_sample)
- birthday-paradox duplicate search: ``closest_pairs`` / ``BirthdayTest`` (birthday)
- modes covered, high-quality fraction: ``mixture_quality`` / ``MixtureQuality`` (mixture)
- independent critic (003 §5): ``independent_critic`` / ``IndependentCritic`` (critic)

The digits feature extractor / classifier is :func:`load_digits_lenet` (module ``lenet``).
"""

from .birthday import BirthdayTest, ClosestPairs, closest_pairs, support_estimate
from .classifier_scores import (
    ClassifierScore,
    ClassifierScores,
    ExpectedEntropy,
    InceptionScore,
    ModeScore,
    classifier_score,
    expected_entropy,
    inception_score,
    mode_score,
    probabilities,
)
from .critic import DIVERGENCES, CriticResult, IndependentCritic, independent_critic
from .kernel import ENN, JSD, MMD, enn, jsd, mmd2
from .kid_fid import FID, KID, fid, frechet_distance, kid
from .lenet import DigitsLeNet, digits_class_frequencies, load_digits_lenet
from .mixture import MODE_MIN_SAMPLES, MixtureQuality, mixture_quality
from .stream import StreamMetric, extract
from .two_sample import OneNNAccuracy, OneNNResult, one_nn_accuracy

__all__ = [
    "DIVERGENCES",
    "ENN",
    "FID",
    "JSD",
    "KID",
    "MMD",
    "MODE_MIN_SAMPLES",
    "BirthdayTest",
    "ClassifierScore",
    "ClassifierScores",
    "ClosestPairs",
    "CriticResult",
    "DigitsLeNet",
    "ExpectedEntropy",
    "InceptionScore",
    "IndependentCritic",
    "MixtureQuality",
    "ModeScore",
    "OneNNAccuracy",
    "OneNNResult",
    "StreamMetric",
    "classifier_score",
    "closest_pairs",
    "digits_class_frequencies",
    "enn",
    "expected_entropy",
    "extract",
    "fid",
    "frechet_distance",
    "inception_score",
    "independent_critic",
    "jsd",
    "kid",
    "load_digits_lenet",
    "mixture_quality",
    "mmd2",
    "mode_score",
    "one_nn_accuracy",
    "probabilities",
    "support_estimate",
]
