"""ONNX Runtime for the project's transformer models: export a torch module once, then run it.

Shared by the sentence embedder (index/embedder.py) and the grading cross-encoder
(bot/grading/judge.py): the same exporter settings, the same atomic write, the same session options,
and one tokenizer read straight from `tokenizer.json` by the `tokenizers` library. Once the graphs
are on disk, inference imports neither torch nor transformers (seconds of start-up and ~300 MB).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Part of every cached graph's file name: a graph exported differently gets a new name, so an
# older cached export is not reused.
GRAPH_VERSION = "g2"  # g2: plain (eager) attention


def export(torch, module, sample: dict, path: Path, output: str, output_axes: dict) -> None:
    """Trace `module(input_ids, attention_mask, token_type_ids)` into `path` (batch and sequence
    dynamic). Written to a temporary name and renamed, so another process never reads half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    for part in module.modules():
        # transformers' SDPA attention exports to a graph ONNX Runtime runs slower (613 vs 485 ms
        # on 32 judge pairs) than plain attention, which gives the same logits (to 1e-6).
        if hasattr(part, "set_attn_implementation"):
            part.set_attn_implementation("eager")
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer chatter about shapes that are dynamic anyway
        torch.onnx.export(
            module, tuple(sample[name] for name in INPUTS), str(tmp), input_names=list(INPUTS),
            output_names=[output], opset_version=17, dynamo=False,
            dynamic_axes={name: {0: "batch", 1: "seq"} for name in INPUTS} | {output: output_axes},
        )
    os.replace(tmp, path)


def quantize_int8(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation of the MatMul weights, per output channel (activations stay fp32,
    quantised on the fly). Written under a temporary name and renamed, like `export`."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = target.with_suffix(f".tmp{os.getpid()}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantize_dynamic(str(source), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"])
    os.replace(tmp, target)


def session(path: Path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, min(4, os.cpu_count() or 1))
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class Tokenizer:
    """The model's own fast tokenizer (`tokenizer.json`), without transformers' wrapper.

    transformers' fast tokenizers wrap this same object; here truncation and padding are set
    explicitly, because the file may carry its own (the bundled MiniLM's pads every input to 128).
    Single texts are cut longest-first, pairs cut only the second text (the answer, never the claim).
    """

    def __init__(self, model_dir: Path, max_length: int):
        from tokenizers import Tokenizer as Backend

        self.max_length = max_length
        self._plain = Backend.from_file(str(Path(model_dir) / "tokenizer.json"))
        self._plain.no_padding()
        self._plain.no_truncation()
        self._single = Backend.from_file(str(Path(model_dir) / "tokenizer.json"))
        self._single.enable_truncation(max_length, strategy="longest_first")
        self._single.enable_padding(pad_id=self._pad_id(), pad_token=self._pad_token())
        self._pairs = Backend.from_file(str(Path(model_dir) / "tokenizer.json"))
        self._pairs.enable_truncation(max_length, strategy="only_second")
        self._pairs.enable_padding(pad_id=self._pad_id(), pad_token=self._pad_token())

    def _pad_token(self) -> str:
        return "[PAD]" if self._plain.token_to_id("[PAD]") is not None else "<pad>"

    def _pad_id(self) -> int:
        return int(self._plain.token_to_id(self._pad_token()) or 0)

    def ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, no special tokens, no truncation."""
        return [e.ids for e in self._plain.encode_batch(texts, add_special_tokens=False)]

    def batch(self, texts: list[str], second: list[str] | None = None) -> dict:
        """int64 model inputs (padded to the longest, truncated to max_length) for texts or pairs."""
        import numpy as np

        if second is None:
            encoded = self._single.encode_batch(texts)
        else:
            encoded = self._pairs.encode_batch(list(zip(texts, second, strict=True)))
        return {
            "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
        }
