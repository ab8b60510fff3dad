"""ONNX Runtime for the project's transformer models: export a torch module once, then run it.

Shared by the sentence embedder (index/embedder.py) and the grading cross-encoder (bot/judge.py):
the same exporter settings, the same atomic write, the same session options.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def export(torch, module, sample: dict, path: Path, output: str, output_axes: dict) -> None:
    """Trace `module(input_ids, attention_mask, token_type_ids)` into `path` (batch and sequence
    dynamic). Written to a temporary name and renamed, so another process never reads half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer chatter about shapes that are dynamic anyway
        torch.onnx.export(
            module, tuple(sample[name] for name in INPUTS), str(tmp), input_names=list(INPUTS),
            output_names=[output], opset_version=17, dynamo=False,
            dynamic_axes={name: {0: "batch", 1: "seq"} for name in INPUTS} | {output: output_axes},
        )
    os.replace(tmp, path)


def session(path: Path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, min(4, os.cpu_count() or 1))
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def feeds(encoded) -> dict:
    """Tokenizer output (NumPy) as the int64 inputs the graph wants."""
    import numpy as np

    return {name: encoded[name].astype(np.int64) for name in INPUTS}
