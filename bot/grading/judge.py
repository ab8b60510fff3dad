"""The grading cross-encoder at inference: P(covers), P(contradicts), P(unrelated) for (target, answer).

A pair model reads the claim and the answer together, so it sees order, negation and numbers that
cosine similarity between two separate vectors cannot. Weights: `bot/judge_model/` (trained by
`gradcheck train`, see its MODEL_CARD.md). Two backends compute the same function:
- torch: the sentence-transformers CrossEncoder's own model;
- onnx: the same graph exported once with `torch.onnx.export` and run by ONNX Runtime (in fp32
  about as fast as torch on 2 cores, and it loads without torch); the file is cached in the data
  dir and rebuilt when the weights change.
Answers longer than one window are judged window by window (sentence-aligned, overlapping by one
sentence); a claim counts as covered or contradicted where any window says so.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from bot.grading.judge_data import LABELS
from index import onnx
from index.batches import by_length

log = logging.getLogger(__name__)

MODEL_DIR = Path(__file__).resolve().parent / "judge_model"
COVERS, CONTRADICTS, UNRELATED = range(3)
MAX_LENGTH = 256  # tokens per pair: a key point (~25) plus an answer of about 170 words
# Pairs per model call. Small batches run faster on a CPU (they stay in cache): 259 pairs of
# 50 answers took 4.4 s in batches of 4-8 and 5.9 s in batches of 32, on both backends.
BATCH = 8
# int8 quantises activations per call (the scale comes from the whole batch), so a pair's result
# would depend on what it is batched with: the int8 graph judges one pair per call. On a CPU that
# costs little (no padding either).


def weights_hash(model_dir: Path) -> str:
    digest = hashlib.sha256()
    for name in ("model.safetensors", "config.json"):
        digest.update((model_dir / name).read_bytes())
    return digest.hexdigest()[:16]


class Judge:
    """Thread-safe; one instance per process (the weights take ~90 MB in fp32)."""

    def __init__(self, model_dir: Path = MODEL_DIR, backend: str = "torch", cache_dir: Path | None = None,
                 max_length: int = MAX_LENGTH, int8: bool = False):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        if backend not in ("torch", "onnx"):
            raise ValueError(f"unknown backend {backend!r}: use torch or onnx")
        self.model_dir = Path(model_dir)
        self.max_length = max_length
        self.tokenizer = onnx.Tokenizer(self.model_dir, max_length)
        self._lock = threading.Lock()
        self._session = None
        self._model: Any = None
        self._torch: Any = None
        self.backend = backend
        self.int8 = int8 and backend == "onnx"
        if backend == "onnx":
            path = Path(cache_dir or self.model_dir) / f"judge-{weights_hash(self.model_dir)}-{onnx.GRAPH_VERSION}.onnx"
            if not path.exists():  # the torch weights are loaded only to export them, once
                import torch

                sample = {k: torch.from_numpy(v) for k, v in
                          self.tokenizer.batch(["a claim"], ["an answer to it"]).items()}
                onnx.export(torch, self._load_torch(), sample, path, "logits", {0: "batch"})
                log.info("exported the grading cross-encoder to %s", path)
            if self.int8:
                fp32, path = path, path.with_name(path.stem + "-int8.onnx")
                if not path.exists():
                    onnx.quantize_int8(fp32, path)
            self._session = onnx.session(path)
        else:
            self._model = self._load_torch()

    def _load_torch(self):
        import torch
        from transformers import AutoModelForSequenceClassification

        self._torch = torch
        model = AutoModelForSequenceClassification.from_pretrained(str(self.model_dir), dtype=torch.float32)
        return model.eval()

    # -- judging --------------------------------------------------------------------------------
    def _logits(self, targets: list[str], answers: list[str]) -> np.ndarray:
        enc = self.tokenizer.batch(targets, answers)
        if self._session is not None:
            return self._session.run(["logits"], enc)[0]
        torch = self._torch
        with torch.inference_mode():
            return self._model(**{k: torch.from_numpy(v) for k, v in enc.items()}).logits.float().numpy()

    def probabilities(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        """(N, 3) probabilities in LABELS order, one row per (target, answer) pair."""
        if not pairs:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        out = np.empty((len(pairs), len(LABELS)), dtype=np.float32)
        with self._lock:
            for idx in by_length([len(a) + len(t) for t, a in pairs], 1 if self.int8 else BATCH):
                logits = self._logits([pairs[i][0] for i in idx], [pairs[i][1] for i in idx])
                logits = logits - logits.max(axis=1, keepdims=True)
                p = np.exp(logits)
                out[idx] = p / p.sum(axis=1, keepdims=True)
        return out

    def answer_windows(self, sentences: list[str], budget: int | None = None, joiner: str = " ") -> list[str]:
        """Cut an answer (as sentences) into windows that fit beside a claim, one sentence overlap.

        `joiner` is "\n" for answers written as lines (lists, code), so a window reads like them."""
        budget = budget or self.max_length - 48
        lengths = [len(ids) for ids in self.tokenizer.ids(sentences)]
        if sum(lengths) <= budget:
            return [joiner.join(sentences)]
        windows, start = [], 0
        while start < len(sentences):
            stop, used = start, 0
            while stop < len(sentences) and (used + lengths[stop] <= budget or stop == start):
                used += lengths[stop]
                stop += 1
            windows.append(joiner.join(sentences[start:stop]))
            if stop >= len(sentences):
                break
            start = max(start + 1, stop - 1)
        return windows

    def judge(self, targets: list[str], windows: list[str]) -> np.ndarray:
        """(len(targets), 3): per target, P(covers) and P(contradicts) of its strongest window."""
        probs = self.probabilities([(t, w) for t in targets for w in windows])
        return strongest_window(probs.reshape(len(targets), len(windows), len(LABELS)))


def strongest_window(probs: np.ndarray) -> np.ndarray:
    """(T, W, 3) judgements of T targets against W windows of one answer -> (T, 3): a claim is
    covered (or contradicted) where any window says so."""
    if probs.shape[1] == 1:
        return probs[:, 0]
    covers = probs[:, :, COVERS].max(axis=1)
    contradicts = probs[:, :, CONTRADICTS].max(axis=1)
    return np.stack([covers, contradicts, np.clip(1.0 - covers - contradicts, 0.0, 1.0)], axis=1)


_shared: dict[tuple, Judge] = {}
_shared_lock = threading.Lock()


def get_judge(backend: str = "torch", cache_dir: Path | None = None, model_dir: Path = MODEL_DIR,
              int8: bool = False) -> Judge:
    with _shared_lock:
        key = (backend, str(cache_dir), str(model_dir), int8)
        if key not in _shared:
            _shared[key] = Judge(model_dir=model_dir, backend=backend, cache_dir=cache_dir, int8=int8)
        return _shared[key]
