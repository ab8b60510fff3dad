"""Similarity signals of an answer against an entry (MiniLM sentence and token vectors, pure logic).

These were the first build's grading signals; the grader keeps them beside the cross-encoder's
judgements because, fitted together, they add accuracy (cross-validated by question): key-point
coverage by cosine (mean, best two, shares above 0.5/0.6/0.7), closeness to a stated
misconception and its margin over the nearest key point, word-order (ROUGE-L) margins that catch
reversed claims, the answer's closeness to the reference (cosine, idf-weighted token alignment,
tf-idf), echoing the prompt, length, and whether the answer makes claims at all.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from bot.grading.features import SimilarityFeatures
from bot.grading.thresholds import ECHO_AT, NEGATION_PENALTY
from index.lexical import TfIdf, content_words, rouge_l
from index.store import VectorIndex
from knowledge.loader import KnowledgeBase
from knowledge.schema import Entry


@dataclass(frozen=True)
class Reference:
    """Everything about one entry that grading compares against, computed once."""

    prompt: np.ndarray  # (D,)
    answer: np.ndarray  # (D,) the whole reference answer
    key_points: np.ndarray  # (K, D)
    misconceptions: np.ndarray  # (M, D)
    tokens: np.ndarray  # (T, D) contextual token vectors of the reference sentences
    token_weights: np.ndarray  # (T,) idf of each reference token
    tfidf: np.ndarray  # (V,) tf-idf vector of the reference answer
    key_point_tokens: list[tuple[np.ndarray, np.ndarray]]  # per key point: token vectors, idf weights
    required: np.ndarray  # (K,) bool: the key points an answer needs


@dataclass(frozen=True, kw_only=True)
class Signals:
    kp_sims: np.ndarray  # (K,) best similarity per key point over non-echo sentences
    mis_sims: np.ndarray  # (M,) best similarity per misconception claim
    mis_margins: np.ndarray  # (M,) that sentence's similarity to the claim minus to its best key point
    order_margins: np.ndarray  # (M,) the same contrast in ordered word overlap (ROUGE-L)
    kp_recall: np.ndarray  # (K,) best share of each key point's content words in one sentence
    kp_best: np.ndarray  # (K,) which (usable) sentence matched each key point best
    mis_best: np.ndarray  # (M,) which sentence matched each misconception best
    features: SimilarityFeatures  # the model's inputs
    echo_only: bool


_NEGATION = re.compile(r"\b(no|not|never|none|nothing|neither|nor|without|cannot|can't|won't|"
                       r"isn't|aren't|doesn't|don't|didn't|shouldn't|wouldn't|couldn't)\b|n't\b"
                       r"|!=|≠",  # "a != b" is written as much as "a is not b"
                       re.IGNORECASE)


def negated(text: str) -> bool:
    return bool(_NEGATION.search(text))


def polarity_clashes(sentences: list[str], entry: Entry) -> np.ndarray:
    """(S, M): 1 where a sentence and a misconception claim differ in negation."""
    claims = [negated(m.claim) for m in entry.misconceptions]
    return np.array([[float(negated(s) != c) for c in claims] for s in sentences])


def key_point_recall(sentences: list[str], entry: Entry) -> np.ndarray:
    """Per key point: the largest share of its content words that one answer sentence contains."""
    words = [set(content_words(s)) for s in sentences]
    out = []
    for point in entry.key_point_texts:
        wanted = set(content_words(point))
        out.append(max(len(wanted & w) for w in words) / max(1, len(wanted)))
    return np.array(out)


def order_margins(sentences: list[str], entry: Entry) -> np.ndarray:
    """Per misconception: best ROUGE-L to its claim minus best ROUGE-L to any key point."""
    words = [content_words(s) for s in sentences]
    key_points = [content_words(k) for k in entry.key_point_texts]
    to_key_points = max(rouge_l(w, k) for w in words for k in key_points)
    return np.array([max(rouge_l(w, content_words(m.claim)) for w in words) - to_key_points
                     for m in entry.misconceptions])


def alignment_recall(point_tokens: np.ndarray, weights: np.ndarray, answer_tokens: np.ndarray) -> float:
    """How much of a key point the answer's words carry: each key-point token's best cosine to an
    answer token (contextual vectors), averaged with idf weights. Unlike one sentence vector, it
    finds a point whose words are spread over a sentence or stated in other words."""
    if not len(answer_tokens) or not len(point_tokens):
        return 0.0
    best = (point_tokens @ answer_tokens.T).max(axis=1)
    return float((best * weights).sum() / max(weights.sum(), 1e-9))


def compute_signals(*, sent_vecs: np.ndarray, tokens: list[np.ndarray], ref: Reference,
                    tfidf_vec: np.ndarray, n_words: int, no_claims: bool, echo_at: float,
                    order: np.ndarray, kp_recall: np.ndarray,
                    polarity_clash: np.ndarray | None = None) -> Signals:
    prompt_sims = sent_vecs @ ref.prompt  # (S,)
    keep = prompt_sims < echo_at
    echo_only = not keep.any()
    usable = sent_vecs if echo_only else sent_vecs[keep]  # (S', D)
    kp = usable @ ref.key_points.T  # (S', K)
    kp_sims = kp.max(axis=0)
    mis = usable @ ref.misconceptions.T  # (S', M)
    if polarity_clash is not None:
        # A sentence that negates a wrong claim ("no expressive power" against "adds expressive
        # power") embeds next to it; it is the correction, not the claim.
        clash = polarity_clash if echo_only else polarity_clash[keep]  # (S', M)
        mis = mis - NEGATION_PENALTY * clash
    mis_sims = mis.max(axis=0)
    mis_margins = mis_sims - kp[mis.argmax(axis=0)].max(axis=1)
    mean = usable.mean(axis=0)
    mean /= max(float(np.linalg.norm(mean)), 1e-9)
    answer_tokens = np.vstack([t for t, k in zip(tokens, keep, strict=True) if k or echo_only])  # (T', D)
    token_recall = alignment_recall(ref.tokens, ref.token_weights, answer_tokens)
    aligned = np.array([alignment_recall(t, w, answer_tokens) for t, w in ref.key_point_tokens])  # (K,)
    top = np.sort(kp_sims)[::-1]
    features = SimilarityFeatures(
        kp_mean=float(kp_sims.mean()),
        kp_top2=float(top[:2].mean()),
        kp_share_50=float((kp_sims > 0.5).mean()),
        kp_share_60=float((kp_sims > 0.6).mean()),
        kp_share_70=float((kp_sims > 0.7).mean()),
        mis_max=float(mis_sims.max()),
        mis_margin=float(mis_margins.max()),
        mis_margin_pos=float(max(0.0, mis_margins.max())),
        answer_cosine=float(mean @ ref.answer),
        token_recall=token_recall,
        tfidf=float(tfidf_vec @ ref.tfidf),
        prompt_sim=float(prompt_sims.max()),
        log_words=math.log1p(n_words),
        no_claims=float(no_claims),
        order_margin=float(order.max()),
        kp_align_req_mean=float(aligned[ref.required].mean()),
        kp_align_req_min=float(aligned[ref.required].min()),
    )
    return Signals(kp_sims=kp_sims, mis_sims=mis_sims, mis_margins=mis_margins, order_margins=order,
                   kp_recall=kp_recall, kp_best=kp.argmax(axis=0), mis_best=mis.argmax(axis=0),
                   features=features, echo_only=echo_only)


class SimilaritySignals:
    """Computes the signals for answers to any entry of a knowledge base, against a built index."""

    def __init__(self, kb: KnowledgeBase, index: VectorIndex, embedder):
        self.kb = kb
        self.index = index
        self.embedder = embedder
        corpus = [e.reference_answer for e in kb.entries.values()]
        self.tfidf = TfIdf(corpus + [kp for e in kb.entries.values() for kp in e.key_point_texts])
        self._idf = self._token_idf(corpus)
        self._refs: dict[str, Reference] = {}
        self._refs_lock = threading.Lock()

    def _token_idf(self, corpus: list[str]) -> dict[int, float]:
        docs = [set(ids) for ids in self.embedder.token_ids(corpus)]
        df = Counter(t for d in docs for t in d)
        n = len(docs)
        self._idf_default = math.log(n + 1)
        return {t: math.log((n + 1) / (c + 1)) for t, c in df.items()}

    def _weights(self, token_ids: np.ndarray) -> np.ndarray:
        return np.array([self._idf.get(int(t), self._idf_default) for t in token_ids])

    def reference(self, question_id: str) -> Reference:
        """Reference vectors for one entry; token vectors are computed on first use."""
        with self._refs_lock:
            if question_id not in self._refs:
                entry = self.kb.entries[question_id]
                tokens = self._stored_tokens(question_id, "reference_sentence")
                token_vecs = np.vstack([t for t, _ in tokens])  # (T, D)
                token_ids = np.concatenate([ids for _, ids in tokens])
                point_tokens = self._stored_tokens(question_id, "key_point")
                self._refs[question_id] = Reference(
                    prompt=self.index.vectors_of(question_id, "prompt")[0],
                    answer=self.index.vectors_of(question_id, "reference")[0],
                    key_points=self.index.vectors_of(question_id, "key_point"),
                    misconceptions=self.index.vectors_of(question_id, "misconception"),
                    tokens=token_vecs,
                    token_weights=self._weights(token_ids),
                    tfidf=self.tfidf.transform([entry.reference_answer])[0],
                    key_point_tokens=[(t, self._weights(ids)) for t, ids in point_tokens],
                    required=np.array(entry.required_flags, dtype=bool),
                )
            return self._refs[question_id]

    def _stored_tokens(self, question_id: str, role: str) -> list[tuple[np.ndarray, np.ndarray]]:
        """Token vectors and ids of an entry's rows of one role, as the index stored them (encoded
        now only for an index built without them: about 50 ms a question on 2 cores)."""
        rows = self.index.rows_of(question_id, role)
        tokens = [self.index.tokens[i] for i in rows if i in self.index.tokens]
        if len(tokens) != len(rows):
            _, tokens = self.embedder.encode_with_tokens([self.index.rows[i].text for i in rows])
        return tokens

    @cached_property
    def _reference_matrix(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Every entry's reference vector as indexed (E, D), and each entry's book question."""
        ids = sorted(self.kb.entries)
        refs = np.vstack([self.index.vectors_of(i, "reference")[0] for i in ids])
        return ids, refs, np.array([self.kb.entries[i].parent or i for i in ids])

    def answer_vectors(self, answers: list[str]) -> np.ndarray:
        """(N, D) unit vectors of whole answers (for off_question_margins and the answer memory)."""
        return self.embedder.encode(answers)

    def off_question_margins(self, question_ids: list[str], vectors: np.ndarray) -> np.ndarray:
        """Per answer (`vectors`: answer_vectors): cosine to its own question's reference answer
        minus the best cosine to the reference of an unrelated question (sub-questions of one book
        question are related). A fluent answer to another question is far closer to that
        question's reference."""
        ids, refs, group = self._reference_matrix
        sims = vectors @ refs.T  # (N, E)
        out = np.empty(len(question_ids))
        for n, qid in enumerate(question_ids):
            unrelated = group != (self.kb.entries[qid].parent or qid)
            out[n] = sims[n, ids.index(qid)] - (sims[n, unrelated].max() if unrelated.any() else -1.0)
        return out

    def signals_many(self, items: list[tuple[str, list[str], str, bool]]) -> list[Signals]:
        """items: (question id, sentences, text, no claims); one model call for all of them."""
        refs = [self.reference(qid) for qid, _, _, _ in items]
        vectors, tokens = self.embedder.encode_with_tokens([s for _, sents, _, _ in items for s in sents])
        tfidf_vecs = self.tfidf.transform([text for _, _, text, _ in items])
        out, start = [], 0
        for (qid, sentences, text, no_claims), ref, tfidf_vec in zip(items, refs, tfidf_vecs, strict=True):
            entry = self.kb.entries[qid]
            stop = start + len(sentences)
            out.append(compute_signals(
                sent_vecs=vectors[start:stop], tokens=[t for t, _ in tokens[start:stop]], ref=ref,
                tfidf_vec=tfidf_vec, n_words=len(text.split()), no_claims=no_claims, echo_at=ECHO_AT,
                order=order_margins(sentences, entry), kp_recall=key_point_recall(sentences, entry),
                polarity_clash=polarity_clashes(sentences, entry),
            ))
            start = stop
        return out
