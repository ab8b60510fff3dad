"""The FAISS index over everything worth matching, saved with the metadata that proves it is fresh.

Cosine rule, stated once: every vector is L2-normalised, so the inner product in an `IndexFlatIP`
is the cosine similarity. The approximate kind (HNSW) sits behind the same interface and its
recall is checked against the exact index (`recall_against_exact`).

Rows: for each entry its prompt and aliases, its reference answer, each reference-answer sentence, each key
point and each misconception claim, each row mapped back to (question id, role, position, text).
The contextual token vectors of the reference sentences are kept too (when the builder is given a
token encoder): the grader's token-level signals need them, and computing them at grading time
would cost a fifth of a second on the first answer to each question.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import faiss
import numpy as np

from index.text import split_sentences
from knowledge.loader import KnowledgeBase

log = logging.getLogger(__name__)

FORMAT_VERSION = 4
TOKEN_ROLES = ("reference_sentence", "key_point")  # rows whose token vectors are stored (grading reads them)
ROLES = ("prompt", "alias", "reference", "reference_sentence", "key_point", "misconception")


@dataclass(frozen=True)
class Row:
    question_id: str
    role: str
    position: int  # index within its role for that entry (key point number, sentence number, ...)
    text: str


@dataclass(frozen=True)
class IndexMeta:
    format_version: int
    model: str
    dimension: int
    kind: str
    knowledge_hash: str
    rows: int
    built_at: float
    build_seconds: float


def rows_for(kb: KnowledgeBase) -> list[Row]:
    rows: list[Row] = []
    for entry in kb.entries.values():
        rows.append(Row(entry.id, "prompt", 0, entry.prompt))
        for i, alias in enumerate(entry.aliases):
            rows.append(Row(entry.id, "alias", i, alias))
        rows.append(Row(entry.id, "reference", 0, entry.reference_answer))
        for i, sentence in enumerate(split_sentences(entry.reference_answer, max_words=1000, semicolons=False)):
            rows.append(Row(entry.id, "reference_sentence", i, sentence))
        for i, point in enumerate(entry.key_point_texts):
            rows.append(Row(entry.id, "key_point", i, point))
        for i, wrong in enumerate(entry.misconceptions):
            rows.append(Row(entry.id, "misconception", i, wrong.claim))
    return rows


def rows_hash(rows: list[Row]) -> str:
    """What the vectors depend on: every row's text and role (so knowledge edits and changes to
    how rows are cut both make a saved index stale)."""
    digest = hashlib.sha256()
    for row in sorted(rows, key=lambda r: (r.question_id, r.role, r.position)):
        digest.update(f"{row.question_id}\x1f{row.role}\x1f{row.position}\x1f{row.text}\x1e".encode())
    return digest.hexdigest()[:16]


def _make_index(kind: str, dimension: int) -> faiss.Index:
    if kind == "flat":
        return faiss.IndexFlatIP(dimension)
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dimension, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = 128
        return index
    raise ValueError(f"unknown index kind {kind!r} (use 'flat' or 'hnsw')")


class VectorIndex:
    """load / build / search / save / count over rows with their vectors."""

    def __init__(self, index: faiss.Index, rows: list[Row], vectors: np.ndarray, meta: IndexMeta,
                 tokens: dict[int, tuple[np.ndarray, np.ndarray]] | None = None):
        self.index = index
        self.rows = rows
        self.vectors = vectors  # (N, D) float32, unit length; kept for grading lookups
        self.meta = meta
        self.tokens = tokens or {}  # row -> (token vectors (T, D), token ids (T,)) for TOKEN_ROLES
        self._by_key: dict[tuple[str, str], list[int]] = {}
        for i, row in enumerate(rows):
            self._by_key.setdefault((row.question_id, row.role), []).append(i)

    @classmethod
    def build(
        cls,
        kb: KnowledgeBase,
        encode: Callable[[list[str]], np.ndarray],
        model: str,
        kind: str = "flat",
        progress: Callable[[Iterable], Iterator] | None = None,
        chunk: int = 64,
        encode_tokens: Callable[[list[str]], tuple[np.ndarray, list]] | None = None,
    ) -> VectorIndex:
        """`encode_tokens` (texts -> (vectors, [(token vectors, token ids)])), when given, encodes
        instead of `encode` and the token vectors of TOKEN_ROLES rows are kept (same compute)."""
        started = time.perf_counter()
        # Longest first, so each chunk pads to similar lengths (file order pads to the longest).
        rows = sorted(rows_for(kb), key=lambda r: -len(r.text))
        texts = [row.text for row in rows]
        chunks = range(0, len(texts), chunk)
        parts: list[np.ndarray] = []
        tokens: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for i in progress(chunks) if progress else chunks:
            if encode_tokens is None:
                parts.append(encode(texts[i : i + chunk]))
                continue
            vecs, toks = encode_tokens(texts[i : i + chunk])
            parts.append(vecs)
            tokens |= {i + j: t for j, t in enumerate(toks) if rows[i + j].role in TOKEN_ROLES}
        vectors = np.ascontiguousarray(np.vstack(parts), dtype=np.float32)  # (N, D)
        index = _make_index(kind, vectors.shape[1])
        index.add(vectors)
        meta = IndexMeta(
            format_version=FORMAT_VERSION,
            model=model,
            dimension=int(vectors.shape[1]),
            kind=kind,
            knowledge_hash=rows_hash(rows),
            rows=len(rows),
            built_at=time.time(),
            build_seconds=round(time.perf_counter() - started, 3),
        )
        return cls(index, rows, vectors, meta, tokens)

    def count(self) -> int:
        return int(self.index.ntotal)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, row ids) per query; scores are cosine similarities."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        return self.index.search(queries, min(k, self.count()))

    def rows_of(self, question_id: str, role: str) -> list[int]:
        return self._by_key.get((question_id, role), [])

    def vectors_of(self, question_id: str, role: str) -> np.ndarray:
        return self.vectors[self.rows_of(question_id, role)]

    # --- persistence -------------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        """Write index, vectors, rows and metadata; each file lands atomically via os.replace."""
        directory.mkdir(parents=True, exist_ok=True)
        atomic_write(directory / "vectors.npy", lambda p: np.save(p, self.vectors))
        atomic_write(directory / "index.faiss", lambda p: faiss.write_index(self.index, str(p)))
        rows = [asdict(r) for r in self.rows]
        atomic_write(directory / "rows.json", lambda p: p.write_text(json.dumps(rows)))
        for name, array in _pack_tokens(self.tokens, self.vectors.shape[1]).items():
            atomic_write(directory / f"{name}.npy", partial(np.save, arr=array))
        # Metadata last: an index without matching metadata is treated as stale and rebuilt.
        meta = json.dumps(asdict(self.meta), indent=2)
        atomic_write(directory / "meta.json", lambda p: p.write_text(meta))

    @classmethod
    def load(cls, directory: Path) -> VectorIndex:
        meta = IndexMeta(**json.loads((directory / "meta.json").read_text()))
        rows = [Row(**r) for r in json.loads((directory / "rows.json").read_text())]
        vectors = np.load(directory / "vectors.npy")
        index = faiss.read_index(str(directory / "index.faiss"))
        if index.ntotal != len(rows) or vectors.shape != (len(rows), meta.dimension):
            raise ValueError("index files disagree with each other")
        tokens = {}
        if (directory / "token_rows.npy").exists():  # an index built without a token encoder has none
            tokens = _unpack_tokens({name: np.load(directory / f"{name}.npy") for name in TOKEN_FILES}, len(rows))
        return cls(index, rows, vectors, meta, tokens)

    def stale_reason(self, kb: KnowledgeBase, model: str, kind: str) -> str | None:
        """Why this index must not be used for this knowledge base and model (None: fresh)."""
        if self.meta.format_version != FORMAT_VERSION:
            return f"index format {self.meta.format_version} != {FORMAT_VERSION}"
        if self.meta.model != model:
            return f"built with model {self.meta.model!r}, settings ask for {model!r}"
        if self.meta.kind != kind:
            return f"index kind {self.meta.kind!r} != {kind!r}"
        if self.meta.knowledge_hash != rows_hash(rows_for(kb)):
            return "knowledge (or how it is split into rows) changed since the index was built"
        return None


TOKEN_FILES = ("token_rows", "token_offsets", "token_vectors", "token_ids")


def _pack_tokens(tokens: dict[int, tuple[np.ndarray, np.ndarray]], dimension: int) -> dict[str, np.ndarray]:
    """Per-row token arrays as four flat arrays (rows, offsets into the concatenation, vectors, ids)."""
    order = sorted(tokens)
    lengths = [len(tokens[r][1]) for r in order]
    return {
        "token_rows": np.array(order, dtype=np.int64),
        "token_offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        "token_vectors": (np.vstack([tokens[r][0] for r in order]) if order
                          else np.zeros((0, dimension))).astype(np.float32),
        "token_ids": (np.concatenate([tokens[r][1] for r in order]) if order else np.zeros(0)).astype(np.int64),
    }


def _unpack_tokens(arrays: dict[str, np.ndarray], n_rows: int) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    rows, offsets, vectors, ids = (arrays[name] for name in TOKEN_FILES)
    if len(offsets) != len(rows) + 1 or offsets[-1] != len(vectors) or len(ids) != len(vectors) \
            or (len(rows) and (rows.min() < 0 or rows.max() >= n_rows)):
        raise ValueError("token files disagree with each other")
    return {int(r): (vectors[offsets[k]:offsets[k + 1]], ids[offsets[k]:offsets[k + 1]])
            for k, r in enumerate(rows)}


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Write `path` through `write(tmp)` and os.replace: a crash leaves the old file, never half a new one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        # np.save appends .npy to names without it; keep the suffix so it writes where we expect.
        if path.suffix == ".npy":
            tmp_path = tmp_path.with_suffix(".npy")
            os.replace(tmp, tmp_path)
        write(tmp_path)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def recall_against_exact(approx: VectorIndex, exact: VectorIndex, queries: np.ndarray, k: int) -> float:
    """Fraction of the exact top-k row ids that the approximate index also returns."""
    _, exact_ids = exact.search(queries, k)
    _, approx_ids = approx.search(queries, k)
    hits = sum(len(set(a) & set(e)) for a, e in zip(approx_ids, exact_ids, strict=True))
    return hits / exact_ids.size


def load_or_build(
    kb: KnowledgeBase,
    directory: Path,
    encode: Callable[[list[str]], np.ndarray],
    model: str,
    kind: str = "flat",
    progress: Callable[[Iterable], Iterator] | None = None,
    force: bool = False,
    encode_tokens: Callable[[list[str]], tuple[np.ndarray, list]] | None = None,
) -> VectorIndex:
    """The saved index when it is fresh for this knowledge and model; otherwise rebuild and save."""
    if not force and (directory / "meta.json").exists():
        try:
            index = VectorIndex.load(directory)
            reason = index.stale_reason(kb, model, kind)
            if reason is None and encode_tokens is not None and not index.tokens:
                reason = "the reference sentences' token vectors are missing"
            if reason is None:
                return index
            log.info("rebuilding the index: %s", reason)
        except (OSError, ValueError, TypeError, RuntimeError) as exc:
            log.warning("rebuilding the index: saved copy unreadable (%s)", exc)
    index = VectorIndex.build(kb, encode, model, kind, progress=progress, encode_tokens=encode_tokens)
    index.save(directory)
    return index
