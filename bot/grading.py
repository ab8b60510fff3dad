"""Semantic grading of a free-text answer against one curated entry (pure logic, no I/O).

How a grade is made:
1. The answer is split into sentences, and those are encoded in ONE model call that yields both
   sentence vectors and contextual token vectors. Reference-side vectors are precomputed.
2. Sentences that merely restate the question (echoes) are set aside.
3. Signals, each a reason a human grader would give:
   - key-point coverage: each key point's best cosine match among the answer's sentences
     (mean, best two, and the share above 0.5 / 0.6 / 0.7);
   - misconceptions: the best match to each listed wrong claim, and its *margin* over that
     sentence's best key point (a sentence closer to a wrong claim than to any right one);
   - overall closeness: the mean sentence vector against the reference answer, idf-weighted token
     alignment recall against the reference (BERTScore-style), and tf-idf word overlap;
   - word order: how much closer (ROUGE-L) an answer sentence is to a wrong claim than to any
     key point, which catches reversed claims ("swapped terms") that embeddings cannot see;
   - form: similarity to the prompt (echo), length, and whether the answer makes claims at all.
4. A multinomial logistic model over those signals gives P(correct), P(partial), P(incorrect);
   its weights are fitted on knowledge/data/grading_dev.jsonl and evaluated with cross-validation
   by question (`gradcheck eval grading --calibrate`). score = P(correct) + 0.5 * P(partial),
   clipped to the verdict's band (correct 0.7-1, partial 0.35-0.7, incorrect 0-0.35).
5. Hard rules on top: no claims (keywords only, "I don't know", an echo, nothing near any key
   point) is incorrect; a stated misconception (by meaning, or by word order for reversed claims)
   is never graded correct. Each hint used caps the score (not the verdict).
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bot.errors import EmptyAnswer, UnknownQuestion
from bot.lexical import TfIdf, content_words, rouge_l
from bot.results import GradeResult, KeyPointResult, MisconceptionHit, Verdict
from index.store import VectorIndex
from index.text import looks_like_code, split_sentences
from knowledge.loader import KnowledgeBase
from knowledge.schema import Entry

MAX_SENTENCES = 60
VERDICTS: tuple[Verdict, ...] = ("correct", "partial", "incorrect")
SCORE_BANDS = {"correct": (0.7, 1.0), "partial": (0.35, 0.7), "incorrect": (0.0, 0.35)}
MODEL_PATH = Path(__file__).with_name("grader_model.json")

_DONT_KNOW = re.compile(
    r"^\W*(i\s*(do\s*n[o']?t|dont|have\s+no)\s+(know|idea|remember)|no\s+idea|idk|not\s+sure|"
    r"pass|skip|\?+|no\s+clue|dunno|i\s+forgot|none)\b",
    re.IGNORECASE,
)
# Words that carry the grammar of a claim; a keyword list has almost none of them.
_FUNCTION_WORDS = frozenset(
    ["a", "an", "the", "is", "are", "was", "were", "be", "been", "being", "it", "its", "this", "that", "these", "those", "they", "them", "their", "there", "to", "of", "in", "on", "at", "by", "for", "with", "from", "as", "into", "than", "then", "so", "because", "since", "if", "when", "while", "which", "who", "what", "why", "how", "not", "no", "do", "does", "did", "can", "could", "will", "would", "should", "may", "might", "must", "has", "have", "had", "and", "or", "but", "also", "more", "less", "most", "only", "all", "each", "every", "both", "same", "other", "such", "one"]
)
KEYWORD_RATIO = 0.12


@dataclass(frozen=True)
class GradingParams:
    """Thresholds for what the feedback *shows*; the verdict comes from the fitted model."""

    # A key point is shown as covered when meaning AND wording agree: MiniLM rates any sentence on
    # the same topic ~0.6-0.8 similar, so similarity alone marks points the answer never made.
    # (similarity, share of the key point's content words in the best sentence) pairs, any of:
    kp_covered: tuple = ((0.45, 0.5), (0.55, 0.3), (0.85, 0.0))
    mis_at: float = 0.70  # a misconception is shown when this close ...
    mis_margin: float = 0.03  # ... and this much closer than to any key point
    echo_at: float = 0.90  # a sentence this close to the prompt is an echo
    order_at: float = 0.05  # ROUGE-L margin toward a wrong claim that marks it as stated (correct
    #                         answers on the dev set stay below -0.05 at their 90th percentile)
    order_mis_at: float = 0.60  # ... when the claim is also semantically this close
    nothing_at: float = 0.25  # no key point this close: the answer says nothing relevant
    hint_cost: float = 0.15  # each hint lowers the best possible score by this much


@dataclass
class PreparedAnswer:
    """The answer as grading sees it, before any encoding."""

    text: str
    sentences: list[str]
    notes: list[str] = field(default_factory=list)
    no_claims: str | None = None  # why the answer cannot earn credit, if it cannot


def prepare_answer(answer: str, max_chars: int) -> PreparedAnswer:
    text = (answer or "").strip()
    if not text:
        raise EmptyAnswer()
    notes: list[str] = []
    if len(text) > max_chars:
        text = text[:max_chars]
        notes.append(f"Graded the first {max_chars} characters of a {len(answer)}-character answer.")
    letters = [c for c in text if c.isalpha()]
    if letters and sum(c.isascii() for c in letters) / len(letters) < 0.6:
        notes.append("Grading is tuned for English; answers in other languages score less reliably.")
    sentences = split_sentences(text)[:MAX_SENTENCES] or [text]
    prepared = PreparedAnswer(text=text, sentences=sentences, notes=notes)
    words = re.findall(r"[A-Za-z']+", text.lower())
    if not words and not letters:
        prepared.no_claims = "no-words"
    elif len(words) <= 12 and _DONT_KNOW.search(text):
        prepared.no_claims = "dont-know"
    elif (len(words) >= 4 and not looks_like_code(text)
          and sum(w in _FUNCTION_WORDS for w in words) / len(words) < KEYWORD_RATIO):
        prepared.no_claims = "keywords"
    return prepared


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


@dataclass(frozen=True)
class Signals:
    kp_sims: np.ndarray  # (K,) best similarity per key point over non-echo sentences
    mis_sims: np.ndarray  # (M,) best similarity per misconception claim
    mis_margins: np.ndarray  # (M,) that sentence's similarity to the claim minus to its best key point
    order_margins: np.ndarray  # (M,) the same contrast in ordered word overlap (ROUGE-L)
    kp_recall: np.ndarray  # (K,) best share of each key point's content words in one sentence
    kp_best: np.ndarray  # (K,) which (usable) sentence matched each key point best
    mis_best: np.ndarray  # (M,) which sentence matched each misconception best
    features: np.ndarray  # (F,) the model's inputs, see FEATURES
    echo_only: bool


FEATURES = (
    "kp_mean", "kp_top2", "kp_share_50", "kp_share_60", "kp_share_70", "mis_max", "mis_margin",
    "mis_margin_pos", "answer_cosine", "token_recall", "tfidf", "prompt_sim", "log_words", "no_claims",
    "order_margin",
)


NEGATION_PENALTY = 0.15
_NEGATION = re.compile(r"\b(no|not|never|none|nothing|neither|nor|without|cannot|can't|won't|"
                       r"isn't|aren't|doesn't|don't|didn't|shouldn't|wouldn't|couldn't)\b|n't\b",
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


def compute_signals(sent_vecs: np.ndarray, tokens: list[np.ndarray], ref: Reference,
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
    token_recall = 0.0
    if len(answer_tokens):
        best = (ref.tokens @ answer_tokens.T).max(axis=1)  # (T_ref,)
        token_recall = float((best * ref.token_weights).sum() / max(ref.token_weights.sum(), 1e-9))
    top = np.sort(kp_sims)[::-1]
    features = np.array([
        kp_sims.mean(), top[:2].mean(), (kp_sims > 0.5).mean(), (kp_sims > 0.6).mean(),
        (kp_sims > 0.7).mean(), mis_sims.max(), mis_margins.max(), max(0.0, mis_margins.max()),
        float(mean @ ref.answer), token_recall, float(tfidf_vec @ ref.tfidf), prompt_sims.max(),
        math.log1p(n_words), float(no_claims), float(order.max()),
    ])
    return Signals(kp_sims, mis_sims, mis_margins, order, kp_recall, kp.argmax(axis=0),
                   mis.argmax(axis=0), features, echo_only)


@dataclass(frozen=True)
class VerdictModel:
    """Multinomial logistic regression over standardised signals (fitted by bot.calibration)."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray  # (F, 3) columns in VERDICTS order
    bias: np.ndarray  # (3,)

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        z = ((features - self.mean) / self.scale) @ self.weights + self.bias
        z = z - z.max(axis=-1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=-1, keepdims=True)

    def to_json(self) -> dict:
        return {"features": list(FEATURES), "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "weights": self.weights.tolist(), "bias": self.bias.tolist()}

    @classmethod
    def from_json(cls, data: dict) -> VerdictModel:
        if data.get("features") != list(FEATURES):
            raise ValueError("grader model was fitted on different features; recalibrate")
        return cls(*(np.array(data[k], dtype=float) for k in ("mean", "scale", "weights", "bias")))

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> VerdictModel:
        return cls.from_json(json.loads(path.read_text()))


def decide(signals: Signals, model: VerdictModel, params: GradingParams) -> tuple[Verdict, float, np.ndarray]:
    """(verdict, score, triggered misconception flags)."""
    triggered = (signals.mis_sims >= params.mis_at) & (signals.mis_margins >= params.mis_margin)
    # Reversed claims: embeddings barely see word order, ordered word overlap does.
    triggered |= (signals.order_margins >= params.order_at) & (signals.mis_sims >= params.order_mis_at)
    nothing = signals.kp_sims.max() < params.nothing_at and not triggered.any()
    if signals.features[FEATURES.index("no_claims")] or signals.echo_only or nothing:
        return "incorrect", 0.0, np.zeros_like(triggered)
    probs = model.probabilities(signals.features)
    verdict = VERDICTS[int(probs.argmax())]
    if verdict == "correct" and triggered.any():
        verdict = "partial"
    # Expected credit, kept inside the verdict's band so "incorrect 44%" never shows.
    low, high = SCORE_BANDS[verdict]
    return verdict, float(np.clip(probs[0] + 0.5 * probs[1], low, high)), triggered


def write_feedback(entry: Entry, verdict: Verdict, covered: np.ndarray, triggered: np.ndarray,
                   no_claims: str | None, echo_only: bool) -> str:
    if no_claims == "dont-know":
        return ("No answer to grade yet. Try the first hint, then say what you think in a sentence "
                "or two; a partial answer earns partial credit.")
    if no_claims in ("keywords", "no-words"):
        return ("That is a list of terms, not an answer: an interviewer wants claims. Say what "
                "happens and why, in full sentences.")
    if echo_only:
        return "That restates the question. Say what the answer is and why."
    parts = []
    good = [entry.key_point_texts[i] for i in np.flatnonzero(covered)]
    missing = [entry.key_point_texts[i] for i in np.flatnonzero(~covered)]
    parts.append({"correct": "Solid answer.", "partial": "Partly there.",
                  "incorrect": "Not there yet."}[verdict])
    if good:
        parts.append("You covered: " + "; ".join(k.rstrip(".") for k in good) + ".")
    for i in np.flatnonzero(triggered):
        wrong = entry.misconceptions[i]
        parts.append(f"Careful - this is a common mistake: \"{wrong.claim}\" {wrong.correction}")
    if missing:
        label = "To make it complete, add" if verdict == "correct" else "Missing"
        parts.append(f"{label}: " + "; ".join(k.rstrip(".") for k in missing[:3]) + ".")
    if not good and not triggered.any():
        parts.append("Your answer did not match the main ideas; compare it with the reference answer.")
    return " ".join(parts)


class Grader:
    """Grades answers for every entry of a knowledge base against a built index."""

    def __init__(self, kb: KnowledgeBase, index: VectorIndex, embedder, params: GradingParams | None = None,
                 model: VerdictModel | None = None, max_chars: int = 4000):
        self.kb = kb
        self.index = index
        self.embedder = embedder
        self.params = params or GradingParams()
        self.model = model or VerdictModel.load()
        self.max_chars = max_chars
        corpus = [e.reference_answer for e in kb.entries.values()]
        self.tfidf = TfIdf(corpus + [kp for e in kb.entries.values() for kp in e.key_point_texts])
        self._idf = self._token_idf(corpus)
        self._refs: dict[str, Reference] = {}
        self._refs_lock = threading.Lock()

    def _token_idf(self, corpus: list[str]) -> dict[int, float]:
        tokenizer = self.embedder.tokenizer
        docs = [set(ids) for ids in tokenizer(corpus, add_special_tokens=False, verbose=False)["input_ids"]]
        df = Counter(t for d in docs for t in d)
        n = len(docs)
        self._idf_default = math.log(n + 1)
        return {t: math.log((n + 1) / (c + 1)) for t, c in df.items()}

    def reference(self, question_id: str) -> Reference:
        """Reference vectors for one entry; token vectors are computed on first use."""
        with self._refs_lock:
            if question_id not in self._refs:
                entry = self.entry(question_id)
                sentences = [self.index.rows[i].text for i in self.index.rows_of(question_id, "reference_sentence")]
                _, tokens = self.embedder.encode_with_tokens(sentences)
                token_vecs = np.vstack([t for t, _ in tokens])  # (T, D)
                token_ids = np.concatenate([ids for _, ids in tokens])
                self._refs[question_id] = Reference(
                    prompt=self.index.vectors_of(question_id, "prompt")[0],
                    answer=self.index.vectors_of(question_id, "reference")[0],
                    key_points=self.index.vectors_of(question_id, "key_point"),
                    misconceptions=self.index.vectors_of(question_id, "misconception"),
                    tokens=token_vecs,
                    token_weights=np.array([self._idf.get(int(t), self._idf_default) for t in token_ids]),
                    tfidf=self.tfidf.transform([entry.reference_answer])[0],
                )
            return self._refs[question_id]

    def entry(self, question_id: str) -> Entry:
        entry = self.kb.get(question_id)
        if entry is None:
            raise UnknownQuestion(question_id, list(self.kb.entries))
        return entry

    def check_item(self, question_id: str, answer: str) -> PreparedAnswer:
        self.entry(question_id)
        return prepare_answer(answer, self.max_chars)

    def grade(self, question_id: str, answer: str, hints_used: int = 0) -> GradeResult:
        return self.grade_many([(question_id, answer, hints_used)])[0]

    def signals_many(self, items: list[tuple[str, str]]) -> list[tuple[PreparedAnswer, Signals]]:
        """Prepare and encode several answers with a single model call (the micro-batching path)."""
        prepared = [self.check_item(qid, answer) for qid, answer in items]
        refs = [self.reference(qid) for qid, _ in items]
        vectors, tokens = self.embedder.encode_with_tokens([s for p in prepared for s in p.sentences])
        tfidf_vecs = self.tfidf.transform([p.text for p in prepared])
        out, start = [], 0
        for (qid, _), prep, ref, tfidf_vec in zip(items, prepared, refs, tfidf_vecs, strict=True):
            stop = start + len(prep.sentences)
            sig = compute_signals(
                vectors[start:stop], [t for t, _ in tokens[start:stop]], ref, tfidf_vec,
                len(prep.text.split()), prep.no_claims is not None, self.params.echo_at,
                order_margins(prep.sentences, self.kb.entries[qid]),
                key_point_recall(prep.sentences, self.kb.entries[qid]),
                polarity_clashes(prep.sentences, self.kb.entries[qid]),
            )
            out.append((prep, sig))
            start = stop
        return out

    def grade_many(self, items: list[tuple[str, str, int]]) -> list[GradeResult]:
        """Raises on the first bad item; callers that must keep going check items first."""
        graded = self.signals_many([(qid, answer) for qid, answer, _ in items])
        return [self.result(qid, prep, sig, hints) for (qid, _, hints), (prep, sig) in zip(items, graded, strict=True)]

    def result(self, question_id: str, prep: PreparedAnswer, sig: Signals, hints_used: int = 0) -> GradeResult:
        entry = self.entry(question_id)
        p = self.params
        verdict, score, triggered = decide(sig, self.model, p)
        covered = np.zeros(len(sig.kp_sims), dtype=bool)
        for min_sim, min_recall in p.kp_covered:
            covered |= (sig.kp_sims >= min_sim) & (sig.kp_recall >= min_recall)
        if prep.no_claims or sig.echo_only:
            covered = np.zeros_like(covered)
        # A sentence that states a wrong claim (a reversal sits next to the right one) covers nothing.
        wrong_sentences = sig.mis_best[triggered]
        covered &= ~np.isin(sig.kp_best, wrong_sentences)
        cap = max(0.0, 1.0 - p.hint_cost * max(0, hints_used))
        notes = list(prep.notes)
        if hints_used and score > cap:
            notes.append(f"Score capped at {cap:.2f} for {hints_used} hint(s) used.")
        return GradeResult(
            question_id=question_id,
            verdict=verdict,
            score=round(min(score, cap), 4),
            key_points=[
                KeyPointResult(text=kp.text, covered=bool(c), similarity=float(s), required=kp.required)
                for kp, c, s in zip(entry.key_points, covered, sig.kp_sims, strict=True)
            ],
            misconceptions=[
                MisconceptionHit(text=m.claim, correction=m.correction, similarity=float(s))
                for m, t, s in zip(entry.misconceptions, triggered, sig.mis_sims, strict=True)
                if t
            ],
            feedback=write_feedback(entry, verdict, covered, triggered, prep.no_claims, sig.echo_only),
            reference_answer=entry.reference_answer,
            notes=notes,
            hints_used=hints_used,
        )
