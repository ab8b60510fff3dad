"""Answers follow-up questions from the curated knowledge (pure logic over the index).

A query is matched against every indexed row (prompts, reference answers and their sentences, key
points, misconceptions); rows vote for their question with a role weight, the best row per question
counting fully and the second best adding a little (`SECOND_WEIGHT`). A BM25 score over each
entry's whole text, scaled to the query's best, is added with weight `LEXICAL_WEIGHT`: exact terms
("Adagrad", "XOR", "warmup") are where a small embedding model is weakest. The answer is composed from the
best entry: the reference sentences closest to the query, in their original order.

A follow-up on one question (a reply to its graded answer) passes `context_margin`: the follow-up
is about that question unless another entry matches it better by more than the margin (semantic
parts only: a shared word such as "gradients" must not pull a follow-up to another entry), and
then it is answered from that question, whatever the lexical scores say. When another entry does
win, the answer first says the question's notes do not cover the follow-up.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bot.domain.enums import DIFFICULTY_NAMES
from bot.domain.results import AskResult, SearchHit
from index.lexical import BM25
from index.store import VectorIndex
from index.text import split_sentences
from knowledge.loader import KnowledgeBase

# Misconception rows match questions that state the misconception, which still points at the
# right entry, but a little less surely than the entry's own claims.
ROLE_WEIGHTS = {
    "prompt": 1.0,
    "alias": 1.0,
    "reference": 0.95,
    "reference_sentence": 0.95,
    "key_point": 0.97,
    "misconception": 0.9,
}
SECOND_WEIGHT = 0.25
# Confidence uses the semantic part alone: one shared word must not make an off-topic query look
# answerable. Below this, say so and offer the closest topics.
CONFIDENT_AT = 0.45
CONTEXT_BOOST = 0.15  # favour the open quiz question: vague follow-ups ("why?") mean it
# A follow-up is answered from its question unless another entry's semantic match beats the
# question's by more than this (callers opt in with context_margin=FOLLOW_UP_MARGIN).
FOLLOW_UP_MARGIN = 0.15
SEARCH_DEPTH = 120
LEXICAL_WEIGHT = 0.2  # chosen on knowledge/data/retrieval_dev.jsonl among 0-0.3


class Retriever:
    def __init__(self, kb: KnowledgeBase, index: VectorIndex, encode: Callable[[list[str]], np.ndarray]):
        self.kb = kb
        self.index = index
        self.encode = encode
        self._ids = list(kb.entries)
        self._bm25 = BM25([
            " ".join([e.prompt, e.reference_answer, *e.key_point_texts, *(m.claim for m in e.misconceptions), *e.hints])
            for e in kb.entries.values()
        ])

    def rank(self, query_vecs: np.ndarray, queries: list[str], context_id: str | None = None,
             context_margin: float | None = None) -> list[list[tuple[str, float, float]]]:
        """Per query, (question id, score, semantic part of the score) best first; with
        `context_margin`, context_id first unless another semantic part beats its by more."""
        scores, ids = self.index.search(query_vecs, SEARCH_DEPTH)
        ranked = []
        for query, row_scores, row_ids in zip(queries, scores, ids, strict=True):
            per_q: dict[str, list[float]] = {}
            for s, i in zip(row_scores, row_ids, strict=True):
                if i < 0:
                    continue
                row = self.index.rows[i]
                per_q.setdefault(row.question_id, []).append(float(s) * ROLE_WEIGHTS[row.role])
            combined = {}
            for qid, vals in per_q.items():
                vals.sort(reverse=True)
                second = vals[1] if len(vals) > 1 else 0.0
                combined[qid] = vals[0] + SECOND_WEIGHT * max(0.0, second - vals[0] + 0.1)
            semantic = dict(combined)
            lexical = self._bm25.scores(query)
            top = lexical.max()
            if top > 0:
                for qid, value in zip(self._ids, lexical / top, strict=True):
                    combined[qid] = combined.get(qid, 0.0) + LEXICAL_WEIGHT * float(value)
            if context_id in self.kb.entries:
                combined[context_id] = combined.get(context_id, 0.0) + CONTEXT_BOOST
            about_context = (context_margin is not None and context_id in self.kb.entries
                             and semantic.get(context_id, 0.0) + context_margin
                             >= max(semantic.values(), default=0.0))
            ranked.append(sorted(((q, s, semantic.get(q, 0.0)) for q, s in combined.items()),
                                 key=lambda t: (not (about_context and t[0] == context_id), -t[1])))
        return ranked

    def ask(self, query: str, k: int = 3, context_id: str | None = None,
            context_margin: float | None = None) -> AskResult:
        return self.ask_many([query], k=k, context_id=context_id, context_margin=context_margin)[0]

    def ask_many(self, queries: list[str], k: int = 3, context_id: str | None = None,
                 context_margin: float | None = None) -> list[AskResult]:
        """`context_margin`: see the module docstring (None: the open question is only boosted)."""
        vecs = self.encode([q.strip() for q in queries])  # one encode for the whole batch
        ranks = self.rank(vecs, queries, context_id, context_margin)
        follow_up = context_margin is not None and context_id in self.kb.entries
        results = []
        for query, qvec, ranking in zip(queries, vecs, ranks, strict=True):
            hits = [SearchHit(qid, score, self.kb.entries[qid].prompt) for qid, score, _ in ranking[:k]]
            confident = bool(ranking) and ranking[0][2] >= CONFIDENT_AT
            uncovered = context_id if follow_up and hits and hits[0].question_id != context_id \
                else None
            answer = self.compose(qvec, hits, confident, uncovered)
            results.append(AskResult(query=query, answer=answer, confident=confident, results=hits))
        return results

    def relevant_sentences(self, question_id: str, qvec: np.ndarray, n: int = 3) -> list[str]:
        """The reference sentences that address the query, kept in the answer's own order."""
        rows = self.index.rows_of(question_id, "reference_sentence")
        if not rows:
            return split_sentences(self.kb.entries[question_id].reference_answer)[:n]
        sims = self.index.vectors[rows] @ qvec  # (S,)
        keep = sorted(np.argsort(-sims)[:n])
        # The first sentence states the claim; keep it so the excerpt reads as an answer.
        if 0 not in keep:
            keep = [0] + keep[: n - 1]
        return [self.index.rows[rows[i]].text for i in keep]

    def compose(self, qvec: np.ndarray, hits: list[SearchHit], confident: bool,
                uncovered: str | None = None) -> str:
        """The answer; `uncovered`: the question a follow-up was about, whose notes don't cover it."""
        if not hits:
            return "The knowledge base is empty."
        if not confident:
            topics = "; ".join(f"{h.question_id} ({h.prompt})" for h in hits)
            opening = (f"The notes on {uncovered} don't cover that, and I'm not sure any others do."
                       if uncovered else "I'm not sure the curated notes cover that.")
            return (
                f"{opening} The closest topics I have are: "
                f"{topics}. Ask about one of them, or rephrase your question."
            )
        best = self.kb.entries[hits[0].question_id]
        lines = [f"The notes on {uncovered} don't cover that; {best.id} does."] if uncovered else []
        lines += [
            f"From {best.id} [{DIFFICULTY_NAMES[best.difficulty.value]}]: {best.prompt}",
            " ".join(self.relevant_sentences(best.id, qvec)),
        ]
        if best.demos:
            lines.append("Demo: " + ", ".join(f"gradcheck demo run {d}" for d in best.demos))
        related = next((f for f in best.follow_ups if f in self.kb.entries), None)
        if related:
            lines.append(f"Try next: {related} - {self.kb.entries[related].prompt}")
        lines.append(f"Source: {best.book_url}")
        return "\n".join(lines)
