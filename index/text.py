"""Text handling shared by indexing and grading: sentence splitting and light normalisation."""

from __future__ import annotations

import re

# No split after "e.g." / "i.e." / "vs." / "cf.": they sit inside sentences.
_ABBREV = r"(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\bvs\.)(?<!\bcf\.)"
_SENTENCE_END = re.compile(_ABBREV + r"(?<=[.!?;])\s+(?=[\"'(\[A-Za-z0-9])|\n\s*\n+")
_SENTENCE_END_NO_SEMICOLON = re.compile(_ABBREV + r"(?<=[.!?])\s+(?=[\"'(\[A-Za-z0-9])|\n\s*\n+")
# A line break starts a new piece only before a bullet; other single breaks are just wrapping.
_WRAPPED = re.compile(r"\n(?!\s*(?:[-*•]|\d+[.)])\s)\s*")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_CODE_HINT = re.compile(r"(np\.|=|\bdef\b|\breturn\b|\(\s*\)|\[:|\bfor\b.*\bin\b)")


def split_sentences(text: str, max_words: int = 40, semicolons: bool = True) -> list[str]:
    """Split into sentences (and bullet lines); very long sentences are cut at clause breaks.

    Decimal points ("0.5") do not split because a split needs whitespace after the stop. Answers
    split at semicolons too (each clause is often its own claim); text shown to people does not.
    """
    end = _SENTENCE_END if semicolons else _SENTENCE_END_NO_SEMICOLON
    if looks_like_code(text):
        return [line.strip() for line in text.splitlines() if line.strip() and line.strip() != "```"]
    pieces: list[str] = []
    text = _WRAPPED.sub(" ", text.strip())
    for raw in re.split(r"\n|" + end.pattern, text):
        if raw is None:
            continue
        sentence = _BULLET.sub("", raw).strip()
        if not sentence:
            continue
        words = sentence.split()
        if len(words) <= max_words:
            pieces.append(sentence)
            continue
        # Long run-on sentences: split at commas into chunks of at most max_words.
        chunk: list[str] = []
        for clause in re.split(r"(?<=,)\s+", sentence):
            if chunk and len(" ".join(chunk).split()) + len(clause.split()) > max_words:
                pieces.append(" ".join(chunk))
                chunk = []
            chunk.append(clause)
        if chunk:
            pieces.append(" ".join(chunk))
    return pieces


def looks_like_code(text: str) -> bool:
    lines = [line for line in text.splitlines() if line.strip()]
    if "```" in text:
        return True
    code_lines = sum(1 for line in lines if _CODE_HINT.search(line))
    return len(lines) >= 2 and code_lines / len(lines) >= 0.5
