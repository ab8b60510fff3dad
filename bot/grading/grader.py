"""Grading a free-text answer against one curated entry, from key-point judgements (pure logic).

How a grade is made:
1. The answer is split into sentences (bullets, list items and code lines count as sentences).
   Repeated sentences are dropped and prose sentences are put in a canonical order, so repeating
   or reordering an answer can never change its grade. Code keeps its line order.
2. A fine-tuned cross-encoder (`bot.grading.judge`) reads every key point of the entry *together
   with* the answer and judges each pair: the answer covers it, contradicts it, or does not
   address it. A pair model sees order, negation and numbers. Key points are judged against
   windows of the answer (a point often spans sentences).
   Misconception claims are found by similarity (`bot.grading.similarity`): an answer sentence
   close to the claim and closer to it than to any key point, or closer to it in word order. The
   cross-encoder's reading of single sentences against claims was dropped: on the development
   answers it flagged a misconception in 74 of 182 correct answers; without it the grades were
   better and the judge reads about half the tokens.
3. A small multinomial logistic model (`bot/grading/verdict_model.json`, fitted with cross-validation by
   question by `gradcheck eval grading --calibrate`) turns aggregates of those judgements, plus
   the similarity signals of `bot.grading.similarity` (they still add accuracy), into P(correct),
   P(partial), P(incorrect). Rules from the judgements sit on top (GradingParams):
   - a key point is ticked (✓) when it is covered, and flagged when it is contradicted; a point
     whose words an answer sentence states almost verbatim (cosine >= KEY_POINT_SEEN_SIM) is
     covered too, unless the cross-encoder reads a contradiction;
   - a misconception is flagged when the answer states it;
   - correct needs enough required key points ticked (at least one), no required point
     contradicted and no misconception stated (else it is partial);
   - a wrong claim (a contradicted required point, a stated misconception) beside too little of
     the core is incorrect: a confident wrong claim;
   - an answer far closer to an unrelated question's reference than to its own is never correct
     (fluent text about something else);
   - an answer that only repeats the question covers no key point;
   - for entries that ask for a NumPy backward pass, code in the answer is run on small random
     inputs in a restricted interpreter (`bot.grading.code_check`): a backward pass that is not
     the gradient of the code's own forward pass is never correct.
   The ticks, the feedback and the rules read the same judgements, so they agree.
   The model's inputs are named (bot.grading.features) and every threshold lives in
   bot.grading.thresholds.
4. score = P(correct) + 0.5 x P(partial), clipped to the verdict's band (correct 0.7-1,
   partial 0.35-0.7, incorrect 0-0.35). Each hint used caps the score (not the verdict).
An empty answer is refused; "I don't know" and text without words are incorrect at once.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

import numpy as np

from bot.domain.errors import EmptyAnswer, UnknownQuestion
from bot.domain.results import GradeResult, KeyPointResult, MisconceptionHit, Verdict
from bot.grading.code_check import CodeCheck, check_backprop_code
from bot.grading.features import JudgeFeatures, MemoryFeatures, VerdictInputs
from bot.grading.judge import CONTRADICTS, COVERS, strongest_window
from bot.grading.thresholds import (
    CLAIM_ORDER_MARGIN,
    CLAIM_ORDER_SIM,
    CLAIM_SEEN_MARGIN,
    CLAIM_SEEN_SIM,
    DONT_KNOW_MAX_WORDS,
    ENGLISH_SHARE,
    KEY_POINT_SEEN_SIM,
    MAX_SENTENCES,
    SCORE_BANDS,
    GradingParams,
)
from bot.grading.verdict_model import MODEL_PATH, VERDICTS, VerdictModel
from index.text import looks_like_code, split_sentences
from knowledge.loader import KnowledgeBase
from knowledge.schema import Entry

_DONT_KNOW = re.compile(
    r"^\W*(i\s*(do\s*n[o']?t|dont|have\s+no)\s+(know|idea|remember)|no\s+idea|idk|not\s+sure|"
    r"pass|skip|\?+|no\s+clue|dunno|i\s+forgot|none)\W*$",
    re.IGNORECASE,
)


@dataclass
class PreparedAnswer:
    """The answer as grading sees it, before any model call."""

    text: str
    sentences: list[str]
    notes: list[str] = field(default_factory=list)
    no_claims: str | None = None  # why the answer cannot earn credit, if it cannot
    code: bool = False

    @property
    def canonical_text(self) -> str:
        """The sentences without repeats, prose in a fixed order: what whole-answer vectors read,
        so that repeating or reordering cannot move them."""
        return " ".join(self.sentences)


def _sentence_key(sentence: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", sentence.lower()).split())


def canonical_sentences(sentences: list[str], code: bool) -> list[str]:
    """Drop repeats; put prose in a fixed order so order and repetition cannot move a grade."""
    seen, out = set(), []
    for s in sentences:
        key = _sentence_key(s) or s
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out if code else sorted(out, key=lambda s: (_sentence_key(s), s))


def prepare_answer(answer: str, max_chars: int) -> PreparedAnswer:
    text = (answer or "").strip()
    if not text:
        raise EmptyAnswer()
    notes: list[str] = []
    if len(text) > max_chars:
        text = text[:max_chars]
        notes.append(f"Graded the first {max_chars} characters of a {len(answer)}-character answer.")
    letters = [c for c in text if c.isalpha()]
    if letters and sum(c.isascii() for c in letters) / len(letters) < ENGLISH_SHARE:
        notes.append("Grading is tuned for English; answers in other languages score less reliably.")
    code = looks_like_code(text)
    sentences = canonical_sentences(split_sentences(text) or [text], code)[:MAX_SENTENCES]
    prepared = PreparedAnswer(text=text, sentences=sentences, notes=notes, code=code)
    words = re.findall(r"[A-Za-z']+", text.lower())
    if not words and not letters and not re.search(r"[=∇θηλ]", text):
        prepared.no_claims = "no-words"
    elif len(words) <= DONT_KNOW_MAX_WORDS and _DONT_KNOW.search(text):
        prepared.no_claims = "dont-know"
    return prepared


@dataclass(frozen=True, kw_only=True)
class Judgements:
    """What grading read in one answer: per key point (the cross-encoder) and per misconception
    claim (the similarity check)."""

    covers: np.ndarray  # (K,) P(the answer states the key point)
    contradicts: np.ndarray  # (K,) P(the answer contradicts it)
    stated: np.ndarray  # (M,) bool: the answer states the misconception
    claim_sims: np.ndarray  # (M,) cosine of the answer sentence closest to each claim (shown)
    off_question: float = 0.0  # see GradingParams.off_question (similarity; 0 when unknown)
    code: CodeCheck | None = None  # the answer's backward pass, run (entries that ask for one)

    @classmethod
    def none(cls, k: int, m: int) -> Judgements:
        return cls(covers=np.zeros(k), contradicts=np.zeros(k), stated=np.zeros(m, dtype=bool),
                   claim_sims=np.zeros(m))


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    score: float
    covered: np.ndarray  # (K,) bool: ✓
    contradicted: np.ndarray  # (K,) bool
    stated: np.ndarray  # (M,) bool
    off_question: bool = False  # reads like an answer to another question
    code: CodeCheck | None = None


def required_mask(entry: Entry) -> np.ndarray:
    return np.array(entry.required_flags, dtype=bool)


def judge_features(*, j: Judgements, required: np.ndarray, no_claims: bool, n_words: int
                   ) -> JudgeFeatures:
    """Aggregates of the judgements (the verdict model's first inputs; see JudgeFeatures)."""
    c, k = j.covers, j.contradicts
    return JudgeFeatures(
        req_cover_mean=float(c[required].mean()),
        req_cover_min=float(c[required].min()),
        req_share_50=float((c[required] >= 0.5).mean()),
        req_share_30=float((c[required] >= 0.3).mean()),
        cover_mean=float(c.mean()),
        cover_max=float(c.max()),
        req_contra_max=float(k[required].max()),
        contra_max=float(k.max()),
        contra_mean=float(k.mean()),
        no_claims=float(no_claims),
        log_words=math.log1p(n_words),
        clean_share=float(((c >= 0.5) & (k < 0.5)).mean()),
    )


def decide(j: Judgements, required: np.ndarray, params: GradingParams, no_claims: bool = False,
           probs: np.ndarray | None = None) -> Decision:
    """The verdict: the fitted model's (when `probs` is given), then the rules of the judgements."""
    covered = (j.covers >= params.cover_at) & (j.covers > j.contradicts)
    contradicted = (j.contradicts >= params.contradict_at) & ~covered
    stated = np.asarray(j.stated, dtype=bool)
    if no_claims:
        return Decision("incorrect", 0.0, covered & False, contradicted & False, stated & False)
    required_share = float(covered[required].mean())
    serious = bool(stated.any() or (contradicted & required).any())
    if probs is None:  # no fitted model: the rules alone
        probs = np.array([1.0, 0.0, 0.0]) if required_share >= params.correct_share else (
            np.array([0.0, 1.0, 0.0]) if covered.any() else np.array([0.0, 0.0, 1.0]))
    verdict: Verdict = VERDICTS[int(np.argmax(probs))]
    # Said in the feedback only when it is what kept the answer from correct.
    off_question = verdict == "correct" and j.off_question < params.off_question
    # Correct needs a ✓ on a required point: the checklist shown beside the verdict never reads 0.
    too_little = required_share < params.correct_share - 1e-9 or required_share == 0.0
    # Code whose backward pass is not the gradient of its own forward pass is not correct,
    # however right it reads (the rubric: code is judged on what it computes).
    wrong_code = j.code is not None and j.code.status == "wrong"
    if verdict == "correct" and (serious or off_question or too_little or wrong_code):
        verdict = "partial"
    if serious and required_share < params.wrong_with_substance:
        verdict = "incorrect"  # a confident wrong claim with too little of the core
    low, high = SCORE_BANDS[verdict]
    score = float(np.clip(probs[0] + 0.5 * probs[1], low, high))
    return Decision(verdict, score, covered, contradicted, stated, off_question, j.code)


def code_note(check: CodeCheck | None) -> str | None:
    """What running the answer's code found, in a sentence (None when it was not run or could not be)."""
    if check is not None and check.status == "wrong":
        return f"I ran your code: {check.detail}"
    if check is not None and check.status == "verified":
        return ("I ran your code on small random inputs: its gradients match a numerical gradient "
                f"check ({', '.join(check.checked)}).")
    return None


def write_feedback(entry: Entry, d: Decision, no_claims: str | None) -> str:
    if no_claims == "dont-know":
        return ("No answer to grade yet. Try the first hint, then say what you think in a sentence "
                "or two; a partial answer earns partial credit.")
    if no_claims == "no-words":
        return "There is nothing here to grade yet: say what happens and why."
    points = entry.key_point_texts
    parts = [{"correct": "Solid answer.", "partial": "Partly there.", "incorrect": "Not there yet."}[d.verdict]]
    if d.off_question:
        parts.append("This reads more like an answer to a different question; answer the one asked.")
    good = [points[i] for i in np.flatnonzero(d.covered)]
    if good:
        parts.append("You covered: " + "; ".join(k.rstrip(".") for k in good) + ".")
    for i in np.flatnonzero(d.stated):
        wrong = entry.misconceptions[i]
        parts.append(f"Careful - this is a common mistake: \"{wrong.claim}\" {wrong.correction}")
    for i in np.flatnonzero(d.contradicted):
        parts.append(f"This part is wrong: the answer contradicts \"{points[i].rstrip('.')}\".")
    if (said := code_note(d.code)) is not None:
        parts.append(said)
    required = required_mask(entry)
    missing_required = [points[i] for i in np.flatnonzero(required & ~d.covered & ~d.contradicted)]
    missing_bonus = [points[i] for i in np.flatnonzero(~required & ~d.covered & ~d.contradicted)]
    if missing_required:
        label = "To make it complete, add" if d.verdict == "correct" else "Missing"
        parts.append(f"{label}: " + "; ".join(k.rstrip(".") for k in missing_required) + ".")
    if missing_bonus and d.verdict == "correct":
        parts.append("To go deeper, add: " + "; ".join(k.rstrip(".") for k in missing_bonus[:2]) + ".")
    if not good and not d.stated.any() and not d.contradicted.any():
        parts.append("Your answer did not address the question's main ideas; compare it with the "
                     "reference answer.")
    return " ".join(parts)


class Grader:
    """Grades answers for every entry of a knowledge base with the grading cross-encoder."""

    def __init__(self, kb: KnowledgeBase, judge, similarity=None, model: VerdictModel | None = None,
                 max_chars: int = 4000, memory=None):
        self.kb = kb
        self.judge = judge
        self.similarity = similarity  # bot.grading.similarity.SimilaritySignals, or None: judgements only
        self.memory = memory  # bot.grading.answer_memory.AnswerMemory (read with the similarity signals)
        if model is None and similarity is not None and MODEL_PATH.exists():
            model = VerdictModel.load()
        self.model = model
        self.params = model.params if model else GradingParams()
        self.max_chars = max_chars

    def features(self, question_id: str, prep: PreparedAnswer, j: Judgements, sim=None,
                 memory: MemoryFeatures | None = None) -> VerdictInputs:
        entry = self.entry(question_id)
        # Words of the canonical sentences: repeating a sentence must not look like a longer answer.
        n_words = len(" ".join(prep.sentences).split())
        judged = judge_features(j=j, required=required_mask(entry), no_claims=prep.no_claims is not None,
                                n_words=n_words)
        if sim is None:
            return VerdictInputs(judged)
        return VerdictInputs(judged, sim.features, memory or MemoryFeatures.empty_memory())

    def entry(self, question_id: str) -> Entry:
        entry = self.kb.get(question_id)
        if entry is None:
            raise UnknownQuestion(question_id, list(self.kb.entries))
        return entry

    def reference(self, question_id: str):
        """Warm one question up (the similarity signals cache its reference vectors)."""
        self.entry(question_id)
        return self.similarity.reference(question_id) if self.similarity else None

    def check_item(self, question_id: str, answer: str) -> PreparedAnswer:
        self.entry(question_id)
        return prepare_answer(answer, self.max_chars)

    def grade(self, question_id: str, answer: str, hints_used: int = 0) -> GradeResult:
        return self.grade_many([(question_id, answer, hints_used)])[0]

    def judgements_many(self, items: list[tuple[str, str]], without_writers: list[str | None] | None = None
                        ) -> list[tuple[PreparedAnswer, Judgements, VerdictInputs]]:
        """Prepare and judge several answers with one batched model call (the micro-batching path).
        `without_writers`: per answer, a writer whose labelled answers the memory leaves out
        (`eval grading --leave-writer-out`)."""
        prepared = [self.check_item(qid, answer) for qid, answer in items]
        pairs: list[tuple[str, str]] = []
        layout = []  # per answer: (targets, windows, start)
        for (qid, _), prep in zip(items, prepared, strict=True):
            entry = self.entry(qid)
            joiner = "\n" if prep.code or "\n" in prep.text else " "
            windows = [] if prep.no_claims else self.judge.answer_windows(
                prep.sentences, budget=self.params.window_tokens, joiner=joiner)
            layout.append((entry, windows, len(pairs)))
            pairs.extend((t, w) for t in entry.key_point_texts for w in windows)
        probs = self.judge.probabilities(pairs)
        sims = [None] * len(items)
        if self.similarity is not None:
            sims = self.similarity.signals_many([(qid, p.sentences, p.canonical_text, p.no_claims is not None)
                                                 for (qid, _), p in zip(items, prepared, strict=True)])
        margins = np.zeros(len(items))
        memories: list[MemoryFeatures | None] = [None] * len(items)
        if self.similarity is not None:
            vectors = self.similarity.answer_vectors([p.canonical_text for p in prepared])
            margins = self.similarity.off_question_margins([q for q, _ in items], vectors)
            if self.memory is not None:
                leave_out = without_writers or [None] * len(items)
                memories = [self.memory.features(qid, v, answer=p.canonical_text, without_writer=w)
                            for (qid, _), p, v, w in zip(items, prepared, vectors, leave_out, strict=True)]
        out = []
        for (qid, _), prep, sim, margin, mem, (entry, windows, start) in zip(
                items, prepared, sims, margins, memories, layout, strict=True):
            k, m = len(entry.key_points), len(entry.misconceptions)
            if not windows:
                j = Judgements.none(k, m)
            else:
                p = strongest_window(probs[start:start + k * len(windows)].reshape(k, len(windows), -1))
                stated, claim_sims = np.zeros(m, dtype=bool), np.zeros(m)
                if sim is not None:
                    # A wrong claim is stated when a sentence is close to it by meaning and closer
                    # to it than to any key point, or closer to it in word order (thresholds:
                    # bot.grading.thresholds).
                    stated = (((sim.mis_sims >= CLAIM_SEEN_SIM) & (sim.mis_margins >= CLAIM_SEEN_MARGIN))
                              | ((sim.order_margins >= CLAIM_ORDER_MARGIN) & (sim.mis_sims >= CLAIM_ORDER_SIM)))
                    claim_sims = sim.mis_sims
                j = Judgements(covers=p[:, COVERS], contradicts=p[:, CONTRADICTS], stated=stated,
                               claim_sims=claim_sims, off_question=float(margin))
            if entry.checks_backprop_code and prep.code and windows:
                j = replace(j, code=check_backprop_code(prep.text))
            x = self.features(qid, prep, j, sim, mem)  # the model's inputs: the judgements as they are
            if sim is not None and sim.echo_only:  # only repeats the question: it covers nothing
                j = replace(j, covers=np.zeros_like(j.covers), contradicts=np.zeros_like(j.contradicts))
            elif sim is not None and windows:
                # The cross-encoder misses some near-verbatim statements of a key point; a sentence
                # that close by meaning states it (a tick only: the verdict model's inputs stay).
                seen = (sim.kp_sims >= KEY_POINT_SEEN_SIM) & (j.contradicts < self.params.contradict_at)
                j = replace(j, covers=np.where(seen, 1.0, j.covers))
            out.append((prep, j, x))
        return out

    def grade_many(self, items: list[tuple[str, str, int]]) -> list[GradeResult]:
        """Raises on the first bad item; callers that must keep going check items first."""
        judged = self.judgements_many([(qid, answer) for qid, answer, _ in items])
        return [self.result(qid, prep, j, x, hints)
                for (qid, _, hints), (prep, j, x) in zip(items, judged, strict=True)]

    def result(self, question_id: str, prep: PreparedAnswer, j: Judgements, x: VerdictInputs,
               hints_used: int = 0) -> GradeResult:
        entry = self.entry(question_id)
        probs = self.model.probabilities_of(x) if self.model else None
        d = decide(j, required_mask(entry), self.params, no_claims=prep.no_claims is not None, probs=probs)
        cap = max(0.0, 1.0 - self.params.hint_cost * max(0, hints_used))
        notes = list(prep.notes)
        if (said := code_note(d.code)) is not None:  # shown beside the checklist, in every front end
            notes.append(said)
        if hints_used and d.score > cap:
            notes.append(f"Score capped at {cap:.2f} for {hints_used} hint(s) used.")
        return GradeResult(
            question_id=question_id,
            verdict=d.verdict,
            score=round(min(d.score, cap), 4),
            key_points=[
                KeyPointResult(text=kp.text, covered=bool(c), similarity=float(s), required=kp.required,
                               contradicted=bool(x))
                for kp, c, s, x in zip(entry.key_points, d.covered, j.covers, d.contradicted, strict=True)
            ],
            misconceptions=[
                MisconceptionHit(text=m.claim, correction=m.correction, similarity=float(s))
                for m, t, s in zip(entry.misconceptions, d.stated, j.claim_sims, strict=True)
                if t
            ],
            feedback=write_feedback(entry, d, prep.no_claims),
            reference_answer=entry.reference_answer,
            notes=notes,
            hints_used=hints_used,
        )
