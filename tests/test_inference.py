"""Inference plumbing shared by the embedder and the judge: the torch-free tokenizer, length
batching, the reference token vectors kept in the index, and an ONNX start without torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.grading.judge import MODEL_DIR
from index.batches import by_length
from index.embedder import resolve_model_path
from index.onnx import Tokenizer
from index.store import VectorIndex

DEV = Path(__file__).resolve().parents[1] / "knowledge" / "data" / "grading_dev.jsonl"


def _texts(kb) -> list[str]:
    answers = [json.loads(line)["answer"] for line in DEV.read_text().splitlines() if line.strip()]
    kps = [kp for e in kb.entries.values() for kp in e.key_point_texts]
    odd = ["x " * 600, "emoji 🎉 naïve 中文 code `np.dot(W, x)`", "  padded  ", "@everyone <@123>"]
    return [e.reference_answer for e in kb.entries.values()] + kps + answers[:150] + odd


@pytest.mark.parametrize("model_dir", [MODEL_DIR, Path(resolve_model_path("bundled:all-MiniLM-L6-v2"))],
                         ids=["judge", "embedder"])
def test_the_light_tokenizer_matches_transformers_exactly(kb, model_dir):
    from transformers import AutoTokenizer

    hf, mine, texts = AutoTokenizer.from_pretrained(str(model_dir)), Tokenizer(model_dir, 256), _texts(kb)
    assert mine.ids(texts) == [hf(t, add_special_tokens=False)["input_ids"] for t in texts]
    claims = [kp for e in kb.entries.values() for kp in e.key_point_texts]
    for start in range(0, len(texts), 24):
        chunk = texts[start:start + 24]
        firsts = [claims[(start + k) % len(claims)] for k in range(len(chunk))]
        single = hf(chunk, padding=True, truncation=True, max_length=256, return_tensors="np")
        pairs = hf(firsts, chunk, padding=True, truncation="only_second", max_length=256, return_tensors="np")
        for theirs, ours in ((single, mine.batch(chunk)), (pairs, mine.batch(firsts, chunk))):
            for name, array in ours.items():
                assert np.array_equal(theirs[name], array), name


def test_length_batches_cover_every_item_once_and_pad_little():
    lengths = [130, 40, 135, 45, 38, 120, 42, 44, 41, 128]
    batches = by_length(lengths, max_batch=4)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert all(len(b) <= 4 for b in batches)
    for b in batches:  # no short pair padded to a long one
        assert min(lengths[i] for i in b) >= 0.8 * max(lengths[i] for i in b)
    assert by_length([], max_batch=4) == []


def test_the_index_keeps_reference_and_key_point_token_vectors_through_save_and_load(runtime, tmp_path):
    index = runtime.index
    rows = [i for i, r in enumerate(index.rows) if r.role in ("reference_sentence", "key_point")]
    assert rows and set(index.tokens) == set(rows)
    sample = rows[:3] + [i for i in rows if index.rows[i].role == "key_point"][:3]
    _, fresh = runtime.embedder.encode_with_tokens([index.rows[i].text for i in sample])
    for i, (vecs, ids) in zip(sample, fresh, strict=True):
        assert np.array_equal(index.tokens[i][1], ids)
        assert np.abs(index.tokens[i][0] - vecs).max() < 1e-4
    index.save(tmp_path)
    loaded = VectorIndex.load(tmp_path)
    assert set(loaded.tokens) == set(rows)
    assert all(np.array_equal(loaded.tokens[i][0], index.tokens[i][0]) for i in sample)


def test_an_index_without_token_vectors_is_rebuilt_when_they_are_wanted(runtime, tmp_path):
    from index.store import load_or_build

    index = runtime.index
    index.save(tmp_path)
    for name in ("token_rows", "token_offsets", "token_vectors", "token_ids"):
        (tmp_path / f"{name}.npy").unlink()
    assert VectorIndex.load(tmp_path).tokens == {}  # still loads: the grader would encode them itself
    built = []

    def encode_tokens(texts):
        built.append(len(texts))
        return runtime.embedder.encode_with_tokens(texts)

    s = runtime.settings
    rebuilt = load_or_build(runtime.kb, tmp_path, runtime.embedder.encode, s.model, s.index_kind,
                            encode_tokens=encode_tokens)
    assert built and len(rebuilt.tokens) == len(index.tokens)


def test_the_onnx_backend_starts_and_grades_without_torch_or_transformers(runtime, subprocess_env):
    runtime.grader.grade("8.3.65", "Zero weights make every unit identical.")  # ONNX files on disk
    code = (
        "import sys\n"
        "from bot.app.runtime import Runtime\n"
        "rt = Runtime()\n"
        "r = rt.grader.grade('8.3.65', 'If every weight starts at zero, all hidden units compute the same "
        "value and get the same gradient, so they get identical updates and stay copies of each other. "
        "Random initialisation (Xavier or He) breaks that symmetry.')\n"
        "rt.retriever.ask('why not zero init?')\n"
        "print(r.verdict, sorted(m for m in ('torch', 'transformers', 'sentence_transformers') "
        "if m in sys.modules))\n"
    )
    env = dict(subprocess_env, GRADCHECK_BACKEND="onnx")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == "correct"
    assert done.stdout.strip().endswith("[]")
