"""The verdict model: multinomial logistic regression from an answer's named features to
P(correct), P(partial), P(incorrect). Fitted by bot.grading.calibration (`gradcheck eval grading
--calibrate --save`), shipped as verdict_model.json beside this file with the rule thresholds
(GradingParams) chosen with it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from bot.domain.results import Verdict
from bot.grading.features import VerdictInputs
from bot.grading.thresholds import GradingParams

MODEL_PATH = Path(__file__).with_name("verdict_model.json")
VERDICTS: tuple[Verdict, ...] = ("correct", "partial", "incorrect")


@dataclass(frozen=True)
class VerdictModel:
    """Multinomial logistic regression over standardised features (fitted by bot.grading.calibration)."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray  # (F, 3) columns in VERDICTS order
    bias: np.ndarray  # (3,)
    params: GradingParams = GradingParams()

    def probabilities_of(self, inputs: VerdictInputs) -> np.ndarray:
        """P(correct), P(partial), P(incorrect) of one answer, its inputs read by name."""
        return self.probabilities(inputs.vector(self.features))

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """x: (..., F) in `features` order."""
        z = ((x - self.mean) / self.scale) @ self.weights + self.bias
        z = z - z.max(axis=-1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=-1, keepdims=True)

    def to_json(self) -> dict:
        return {"features": list(self.features), "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "weights": self.weights.tolist(), "bias": self.bias.tolist(), "params": asdict(self.params)}

    @classmethod
    def from_json(cls, data: dict) -> VerdictModel:
        mean, scale, weights, bias = (np.array(data[k], dtype=float)
                                      for k in ("mean", "scale", "weights", "bias"))
        return cls(tuple(data["features"]), mean, scale, weights, bias,
                   params=GradingParams(**data.get("params", {})))

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> VerdictModel:
        return cls.from_json(json.loads(path.read_text()))
