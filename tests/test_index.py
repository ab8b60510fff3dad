"""The FAISS index: save/load round trip, freshness checks, and every question finding itself."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from index.store import VectorIndex, load_or_build, recall_against_exact


def test_save_then_load_gives_identical_search_results(runtime, tmp_path):
    index = runtime.index
    index.save(tmp_path)
    loaded = VectorIndex.load(tmp_path)
    queries = runtime.embedder.encode(["why clip gradients", "what is weight decay", "xor network"])
    s1, i1 = index.search(queries, 10)
    s2, i2 = loaded.search(queries, 10)
    assert np.array_equal(i1, i2)
    assert np.allclose(s1, s2)
    assert loaded.rows == index.rows and loaded.meta == index.meta


def test_stale_index_is_rebuilt_not_used(runtime, tmp_path):
    index = runtime.index
    index.save(tmp_path)
    assert index.stale_reason(runtime.kb, runtime.settings.model, "flat") is None
    assert "model" in index.stale_reason(runtime.kb, "some-other-model", "flat")
    entries = dict(runtime.kb.entries)
    entries["8.3.65"] = entries["8.3.65"].model_copy(update={"prompt": "Why not start from zeros?"})
    changed = replace(runtime.kb, entries=entries)
    assert "changed" in index.stale_reason(changed, runtime.settings.model, "flat")
    rebuilt = load_or_build(changed, tmp_path, runtime.embedder.encode, runtime.settings.model)
    assert rebuilt.meta.knowledge_hash != index.meta.knowledge_hash
    assert "Why not start from zeros?" in [r.text for r in VectorIndex.load(tmp_path).rows]
    assert rebuilt.stale_reason(changed, runtime.settings.model, "flat") is None


def test_corrupt_index_files_are_rebuilt(runtime, tmp_path):
    runtime.index.save(tmp_path)
    (tmp_path / "rows.json").write_text("{not json")
    rebuilt = load_or_build(runtime.kb, tmp_path, runtime.embedder.encode, runtime.settings.model)
    assert rebuilt.count() == runtime.index.count()


def test_every_question_retrieves_itself_first(runtime):
    prompts = [e.prompt for e in runtime.kb.entries.values()]
    vecs = runtime.embedder.encode(prompts)
    ranked = runtime.retriever.rank(vecs, prompts)
    for entry, ranking in zip(runtime.kb.entries.values(), ranked, strict=True):
        assert ranking[0][0] == entry.id, f"{entry.id} retrieved {ranking[0][0]}"


def test_approximate_index_recall_against_exact(runtime):
    hnsw = VectorIndex.build(runtime.kb, runtime.embedder.encode, runtime.settings.model, kind="hnsw")
    queries = runtime.index.vectors[::7]
    assert recall_against_exact(hnsw, runtime.index, queries, k=10) >= 0.95
