"""Builds the tutor's parts once, in data-flow order: knowledge -> embedder -> index -> grader/retriever.

Front ends and commands share this so that the model loads once per process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from functools import cached_property

from bot.app.settings import Settings, get_settings
from bot.grading.grader import Grader
from bot.retrieval.retriever import Retriever
from index.embedder import Embedder, get_embedder
from index.store import VectorIndex, load_or_build
from knowledge.loader import KnowledgeBase, load_valid_knowledge

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, settings: Settings | None = None,
                 progress: Callable[[Iterable], Iterator] | None = None):
        self.settings = settings or get_settings()
        self.progress = progress

    @cached_property
    def kb(self) -> KnowledgeBase:
        return load_valid_knowledge()

    @cached_property
    def embedder(self) -> Embedder:
        return get_embedder(self.settings.model, backend=self.settings.backend,
                            cache_dir=self.settings.onnx_dir)

    @cached_property
    def index(self) -> VectorIndex:
        return load_or_build(
            self.kb,
            self.settings.index_dir,
            self.embedder.encode,
            self.settings.model,
            self.settings.index_kind,
            progress=self.progress,
            encode_tokens=self.embedder.encode_with_tokens,
        )

    def rebuild_index(self) -> VectorIndex:
        self.__dict__["index"] = load_or_build(
            self.kb, self.settings.index_dir, self.embedder.encode, self.settings.model,
            self.settings.index_kind, progress=self.progress, force=True,
            encode_tokens=self.embedder.encode_with_tokens,
        )
        self.__dict__.pop("grader", None)
        self.__dict__.pop("retriever", None)
        return self.index

    @cached_property
    def judge(self):
        from bot.grading.judge import MODEL_DIR, get_judge

        return get_judge(self.settings.backend, cache_dir=self.settings.onnx_dir,
                         model_dir=self.settings.judge_model or MODEL_DIR,
                         int8=self.settings.judge_int8)

    @cached_property
    def memory(self):
        """The labelled answers' vectors (bot.grading.answer_memory), cached beside the index."""
        from bot.grading.answer_memory import load_or_build as load_memory
        from bot.grading.grader import prepare_answer

        return load_memory(self.settings.index_dir, self.embedder.encode,
                           lambda answer: prepare_answer(answer, self.settings.max_answer_chars).canonical_text,
                           self.settings.model)

    @cached_property
    def grader(self) -> Grader:
        from bot.grading.similarity import SimilaritySignals

        return Grader(self.kb, self.judge, SimilaritySignals(self.kb, self.index, self.embedder),
                      max_chars=self.settings.max_answer_chars, memory=self.memory)

    @cached_property
    def retriever(self) -> Retriever:
        return Retriever(self.kb, self.index, self.embedder.encode)
