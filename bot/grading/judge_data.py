"""The training examples of the grading cross-encoder, built from files in the repo (pure, seeded).

Every example is a pair (target, answer) with one of three labels:
- covers: the answer states the target claim (in any form: prose, list, arrows, formula, code);
- contradicts: the answer states something that contradicts the target claim;
- unrelated: the answer neither states nor contradicts it.

Sources, all in `knowledge/data/judge/` or `knowledge/questions/`:
1. SemEval-2013 Beetle, train split only (`beetle_train.csv`): (reference, student answer) with the
   official 3-way labels; correct -> covers, contradictory -> contradicts, everything else ->
   unrelated (partially right, irrelevant, off-domain: none of them states the whole reference).
2. Key-point pairs written for every entry (`pairs.jsonl`): each key point and misconception
   claim stated in many forms (covers) and contradicted in many ways (contradicts).
3. Made here from 1-2 and the entries, with a fixed seed:
   - composite answers: several of an entry's statements joined in random order, labelled for every
     key point and misconception of that entry (a point that is not among them is unrelated: the
     hardest negatives are the entry's own other points);
   - each key point against the window of its own reference answer that states it (covers) and
     against a window of another question's reference (unrelated);
   - a statement of one key point against another key point of the same entry (unrelated);
   - key points and claims against the question itself (unrelated: an echo says nothing).
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

LABELS = ("covers", "contradicts", "unrelated")
DATA_DIR = Path(__file__).resolve().parents[2] / "knowledge" / "data" / "judge"  # bot/grading/ -> repo
BEETLE_TRAIN = DATA_DIR / "beetle_train.csv"
PAIRS = DATA_DIR / "pairs.jsonl"
BEETLE_LABELS = {"correct": "covers", "contradictory": "contradicts", "incorrect": "unrelated"}


@dataclass(frozen=True)
class Example:
    target: str
    answer: str
    label: str  # one of LABELS
    source: str  # beetle, pair, composite, reference, cross-reference, sibling

    @property
    def label_id(self) -> int:
        return LABELS.index(self.label)


def beetle_examples(path: Path = BEETLE_TRAIN) -> list[Example]:
    with path.open(newline="", encoding="utf-8") as f:
        return [Example(r["reference_answer"], r["student_answer"], BEETLE_LABELS[r["label_3way"]], "beetle")
                for r in csv.DictReader(f)]


def read_pairs(path: Path = PAIRS) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def pair_examples(pairs: list[dict]) -> list[Example]:
    return [Example(p["target"], p["answer"], p["label"], "pair") for p in pairs]


def _points(entry) -> list[str]:
    return list(entry.key_point_texts)


def _group(entry) -> str:
    """Sub-questions of one book question share a group: their points may overlap."""
    return entry.parent or entry.id


def _join(parts: list[str], rng: random.Random) -> str:
    sep = rng.choice([" ", " ", " ", "\n", "\n- "])
    text = sep.join(p.strip() for p in parts)
    return ("- " + text) if sep == "\n- " else text


def composite_examples(entries, pairs: list[dict], rng: random.Random, per_entry: int) -> list[Example]:
    """Answers made of several statements of one entry, labelled against all of its targets."""
    by_target: dict[tuple[str, str], list[str]] = {}
    for p in pairs:
        by_target.setdefault((p["target"], p["label"]), []).append(p["answer"])
    out = []
    for entry in entries:
        points = [k for k in _points(entry) if (k, "covers") in by_target]
        claims = [m.claim for m in entry.misconceptions if (m.claim, "covers") in by_target]
        if len(points) < 2:
            continue
        for _ in range(per_entry):
            chosen = rng.sample(points, rng.randint(1, min(3, len(points))))
            parts = [rng.choice(by_target[(k, "covers")]) for k in chosen]
            contradicted = None
            rest = [k for k in points if k not in chosen and (k, "contradicts") in by_target]
            if rest and rng.random() < 0.35:
                contradicted = rng.choice(rest)
                parts.append(rng.choice(by_target[(contradicted, "contradicts")]))
            stated = None
            if claims and rng.random() < 0.25:
                stated = rng.choice(claims)
                parts.append(rng.choice(by_target[(stated, "covers")]))
            rng.shuffle(parts)
            answer = _join(parts, rng)
            for k in _points(entry):
                label = "covers" if k in chosen else "contradicts" if k == contradicted else "unrelated"
                out.append(Example(k, answer, label, "composite"))
            for m in entry.misconceptions:
                if m.claim == stated:
                    out.append(Example(m.claim, answer, "covers", "composite"))
                elif (m.claim, "covers") in by_target and rng.random() < 0.5:
                    out.append(Example(m.claim, answer, "unrelated", "composite"))
    return out


def _window(sentences: list[str], center: int, size: int = 3) -> str:
    start = max(0, min(center - 1, len(sentences) - size))
    return " ".join(sentences[start:start + size])


def reference_examples(entries, rng: random.Random, others_per_point: int) -> list[Example]:
    """Key points against a short window of reference sentences (the answer as a learner writes it).

    Covers: the 3-sentence window of the entry's own reference around the sentence that shares the
    most content words with the point. Unrelated: a random window of another question's reference.
    """
    from index.lexical import content_words
    from index.text import split_sentences

    out = []
    entries = list(entries)
    sentences = {e.id: split_sentences(e.reference_answer, semicolons=False) for e in entries}
    for entry in entries:
        own = sentences[entry.id]
        own_words = [set(content_words(s)) for s in own]
        others = [e for e in entries if _group(e) != _group(entry)]
        for k in _points(entry):
            wanted = set(content_words(k))
            best = max(range(len(own)), key=lambda i: len(wanted & own_words[i]))
            out.append(Example(k, _window(own, best), "covers", "reference"))
            for other in rng.sample(others, others_per_point):
                theirs = sentences[other.id]
                out.append(Example(k, _window(theirs, rng.randrange(len(theirs))), "unrelated",
                                   "cross-reference"))
        for target in rng.sample([*_points(entry), *(m.claim for m in entry.misconceptions)], 2):
            out.append(Example(target, entry.prompt, "unrelated", "echo"))  # restating the question
    return out


def sibling_examples(entries, pairs: list[dict], rng: random.Random) -> list[Example]:
    """A statement of one key point is not a statement of another key point of the same entry."""
    covers: dict[str, list[str]] = {}
    for p in pairs:
        if p["label"] == "covers" and p["target_kind"] == "key_point":
            covers.setdefault(p["target"], []).append(p["answer"])
    out = []
    for entry in entries:
        points = [k for k in _points(entry) if k in covers]
        for k in points:
            others = [o for o in points if o != k]
            if others:
                out.append(Example(k, rng.choice(covers[rng.choice(others)]), "unrelated", "sibling"))
    return out


def build_examples(entries, pairs: list[dict] | None = None, seed: int = 13,
                   composites_per_entry: int = 8, others_per_point: int = 1,
                   beetle_passes: int = 2) -> list[Example]:
    """The whole training set, shuffled with `seed` (the same inputs always give the same list)."""
    rng = random.Random(seed)
    entries = sorted(entries, key=lambda e: e.id)
    pairs = read_pairs() if pairs is None else pairs
    # Beetle twice in one epoch: two passes over the contradiction data, one over the rest.
    examples = beetle_examples() * beetle_passes + pair_examples(pairs)
    examples += composite_examples(entries, pairs, rng, composites_per_entry)
    examples += reference_examples(entries, rng, others_per_point)
    examples += sibling_examples(entries, pairs, rng)
    rng.shuffle(examples)
    return examples


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
