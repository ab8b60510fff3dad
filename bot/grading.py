"""Grading a free-text answer against one curated entry, from key-point judgements (pure logic).

How a grade is made:
1. The answer is split into sentences (bullets, list items and code lines count as sentences).
   Repeated sentences are dropped and prose sentences are put in a canonical order, so repeating
   or reordering an answer can never change its grade. Code keeps its line order.
2. A fine-tuned cross-encoder (`bot.judge`) reads every key point and every misconception claim
   of the entry *together with* the answer and judges each pair: the answer covers it,
   contradicts it, or does not address it. A pair model sees order, negation and numbers.
3. From those judgements alone (GradingParams says where each threshold comes from):
   - a key point is ticked (✓) when it is covered, and flagged when it is contradicted;
   - a misconception is flagged when the answer states it;
   - correct: every required key point covered, nothing contradicted, no misconception stated;
   - partial: some right substance (a covered key point) but a required point missing, or a
     minor error (a bonus point contradicted) beside a complete answer;
   - incorrect: no key point covered, or a required point contradicted / a misconception stated
     with less than half of the required points covered (a confident wrong claim).
   The ticks, the feedback and the verdict are read off the same judgements, so they agree.
4. score: 0.8 x the mean P(covers) over required points + 0.2 x over bonus points, less the
   strongest wrong claim's probability, clipped to the verdict's band (correct 0.7-1,
   partial 0.35-0.7, incorrect 0-0.35). Each hint used caps the score (not the verdict).
An empty answer is refused; "I don't know" and text without words are incorrect at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from bot.errors import EmptyAnswer, UnknownQuestion
from bot.judge import CONTRADICTS, COVERS
from bot.results import GradeResult, KeyPointResult, MisconceptionHit, Verdict
from index.text import looks_like_code, split_sentences
from knowledge.loader import KnowledgeBase
from knowledge.schema import Entry

MAX_SENTENCES = 60
VERDICTS: tuple[Verdict, ...] = ("correct", "partial", "incorrect")
SCORE_BANDS = {"correct": (0.7, 1.0), "partial": (0.35, 0.7), "incorrect": (0.0, 0.35)}

_DONT_KNOW = re.compile(
    r"^\W*(i\s*(do\s*n[o']?t|dont|have\s+no)\s+(know|idea|remember)|no\s+idea|idk|not\s+sure|"
    r"pass|skip|\?+|no\s+clue|dunno|i\s+forgot|none)\W*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class GradingParams:
    """Every threshold of the verdict, in one place.

    The probability cut-offs were chosen by cross-validation by question on the development
    answers (`gradcheck eval grading --calibrate`), never on the frozen test sets.
    """

    cover_at: float = 0.5  # P(covers) from which a key point is ticked
    contradict_at: float = 0.5  # P(contradicts) from which a key point is flagged as contradicted
    state_at: float = 0.5  # P(covers) of a misconception claim from which it counts as stated
    wrong_with_substance: float = 0.5  # a wrong claim beside at least this share of required
    #                                    points is partial (a slip); below it, incorrect
    hint_cost: float = 0.15  # each hint lowers the best possible score by this much


@dataclass
class PreparedAnswer:
    """The answer as grading sees it, before any model call."""

    text: str
    sentences: list[str]
    notes: list[str] = field(default_factory=list)
    no_claims: str | None = None  # why the answer cannot earn credit, if it cannot
    code: bool = False


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
    if letters and sum(c.isascii() for c in letters) / len(letters) < 0.6:
        notes.append("Grading is tuned for English; answers in other languages score less reliably.")
    code = looks_like_code(text)
    sentences = canonical_sentences(split_sentences(text) or [text], code)[:MAX_SENTENCES]
    prepared = PreparedAnswer(text=text, sentences=sentences, notes=notes, code=code)
    words = re.findall(r"[A-Za-z']+", text.lower())
    if not words and not letters and not re.search(r"[=∇θηλ]", text):
        prepared.no_claims = "no-words"
    elif len(words) <= 12 and _DONT_KNOW.search(text):
        prepared.no_claims = "dont-know"
    return prepared


@dataclass(frozen=True)
class Judgements:
    """The cross-encoder's view of one answer: per key point and per misconception claim."""

    covers: np.ndarray  # (K,) P(the answer states the key point)
    contradicts: np.ndarray  # (K,) P(the answer contradicts it)
    states: np.ndarray  # (M,) P(the answer states the misconception)
    refutes: np.ndarray  # (M,) P(the answer contradicts the misconception)

    @classmethod
    def none(cls, k: int, m: int) -> Judgements:
        return cls(np.zeros(k), np.zeros(k), np.zeros(m), np.zeros(m))


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    score: float
    covered: np.ndarray  # (K,) bool: ✓
    contradicted: np.ndarray  # (K,) bool
    stated: np.ndarray  # (M,) bool


def required_mask(entry: Entry) -> np.ndarray:
    mask = np.array([kp.required for kp in entry.key_points], dtype=bool)
    return mask if mask.any() else np.ones(len(mask), dtype=bool)


def decide(j: Judgements, required: np.ndarray, params: GradingParams,
           no_claims: bool = False) -> Decision:
    covered = (j.covers >= params.cover_at) & (j.covers > j.contradicts)
    contradicted = (j.contradicts >= params.contradict_at) & ~covered
    stated = (j.states >= params.state_at) & (j.states > j.refutes)
    if no_claims:
        return Decision("incorrect", 0.0, covered & False, contradicted & False, stated & False)
    required_share = float(covered[required].mean())
    serious = stated.any() or (contradicted & required).any()
    if serious:
        verdict: Verdict = "partial" if required_share >= params.wrong_with_substance else "incorrect"
    elif required_share >= 1.0 - 1e-9:
        verdict = "partial" if contradicted.any() else "correct"
    elif covered.any():
        verdict = "partial"
    else:
        verdict = "incorrect"
    bonus = ~required
    soft = 0.8 * float(j.covers[required].mean()) + (
        0.2 * float(j.covers[bonus].mean()) if bonus.any() else 0.2 * float(j.covers[required].mean()))
    wrong = max([0.0, *j.states[stated], *j.contradicts[contradicted]])
    low, high = SCORE_BANDS[verdict]
    return Decision(verdict, float(np.clip(soft - 0.5 * wrong, low, high)), covered, contradicted, stated)


def write_feedback(entry: Entry, d: Decision, no_claims: str | None) -> str:
    if no_claims == "dont-know":
        return ("No answer to grade yet. Try the first hint, then say what you think in a sentence "
                "or two; a partial answer earns partial credit.")
    if no_claims == "no-words":
        return "There is nothing here to grade yet: say what happens and why."
    points = entry.key_point_texts
    parts = [{"correct": "Solid answer.", "partial": "Partly there.", "incorrect": "Not there yet."}[d.verdict]]
    good = [points[i] for i in np.flatnonzero(d.covered)]
    if good:
        parts.append("You covered: " + "; ".join(k.rstrip(".") for k in good) + ".")
    for i in np.flatnonzero(d.stated):
        wrong = entry.misconceptions[i]
        parts.append(f"Careful - this is a common mistake: \"{wrong.claim}\" {wrong.correction}")
    for i in np.flatnonzero(d.contradicted):
        parts.append(f"This part is wrong: the answer contradicts \"{points[i].rstrip('.')}\".")
    required = required_mask(entry)
    missing_required = [points[i] for i in np.flatnonzero(required & ~d.covered & ~d.contradicted)]
    missing_bonus = [points[i] for i in np.flatnonzero(~required & ~d.covered & ~d.contradicted)]
    if missing_required:
        parts.append("Missing: " + "; ".join(k.rstrip(".") for k in missing_required) + ".")
    if missing_bonus and d.verdict == "correct":
        parts.append("To go deeper, add: " + "; ".join(k.rstrip(".") for k in missing_bonus[:2]) + ".")
    if not good and not d.stated.any() and not d.contradicted.any():
        parts.append("Your answer did not address the question's main ideas; compare it with the "
                     "reference answer.")
    return " ".join(parts)


class Grader:
    """Grades answers for every entry of a knowledge base with the grading cross-encoder."""

    def __init__(self, kb: KnowledgeBase, judge, params: GradingParams | None = None, max_chars: int = 4000):
        self.kb = kb
        self.judge = judge
        self.params = params or GradingParams()
        self.max_chars = max_chars

    def entry(self, question_id: str) -> Entry:
        entry = self.kb.get(question_id)
        if entry is None:
            raise UnknownQuestion(question_id, list(self.kb.entries))
        return entry

    def reference(self, question_id: str) -> Entry:
        """Kept for callers that warm a question up; the judge needs nothing precomputed."""
        return self.entry(question_id)

    def check_item(self, question_id: str, answer: str) -> PreparedAnswer:
        self.entry(question_id)
        return prepare_answer(answer, self.max_chars)

    def grade(self, question_id: str, answer: str, hints_used: int = 0) -> GradeResult:
        return self.grade_many([(question_id, answer, hints_used)])[0]

    def judgements_many(self, items: list[tuple[str, str]]) -> list[tuple[PreparedAnswer, Judgements]]:
        """Prepare and judge several answers with one batched model call (the micro-batching path)."""
        prepared = [self.check_item(qid, answer) for qid, answer in items]
        pairs: list[tuple[str, str]] = []
        layout = []  # per answer: (targets, windows, start)
        for (qid, _), prep in zip(items, prepared, strict=True):
            entry = self.entry(qid)
            targets = [*entry.key_point_texts, *(m.claim for m in entry.misconceptions)]
            windows = [] if prep.no_claims else self.judge.answer_windows(prep.sentences)
            layout.append((entry, targets, windows, len(pairs)))
            pairs.extend((t, w) for t in targets for w in windows)
        probs = self.judge.probabilities(pairs)
        out = []
        for prep, (entry, targets, windows, start) in zip(prepared, layout, strict=True):
            k, m = len(entry.key_points), len(entry.misconceptions)
            if not windows:
                out.append((prep, Judgements.none(k, m)))
                continue
            p = probs[start:start + len(targets) * len(windows)].reshape(len(targets), len(windows), -1)
            covers, contradicts = p[:, :, COVERS].max(axis=1), p[:, :, CONTRADICTS].max(axis=1)
            out.append((prep, Judgements(covers[:k], contradicts[:k], covers[k:], contradicts[k:])))
        return out

    def grade_many(self, items: list[tuple[str, str, int]]) -> list[GradeResult]:
        """Raises on the first bad item; callers that must keep going check items first."""
        judged = self.judgements_many([(qid, answer) for qid, answer, _ in items])
        return [self.result(qid, prep, j, hints) for (qid, _, hints), (prep, j) in zip(items, judged, strict=True)]

    def result(self, question_id: str, prep: PreparedAnswer, j: Judgements, hints_used: int = 0) -> GradeResult:
        entry = self.entry(question_id)
        d = decide(j, required_mask(entry), self.params, no_claims=prep.no_claims is not None)
        cap = max(0.0, 1.0 - self.params.hint_cost * max(0, hints_used))
        notes = list(prep.notes)
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
                for m, t, s in zip(entry.misconceptions, d.stated, j.states, strict=True)
                if t
            ],
            feedback=write_feedback(entry, d, prep.no_claims),
            reference_answer=entry.reference_answer,
            notes=notes,
            hints_used=hints_used,
        )
