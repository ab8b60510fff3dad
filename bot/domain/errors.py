"""Errors a user can cause; every front end turns them into one clear line (exit code 2 on the CLI)."""

from __future__ import annotations

import difflib


class UserError(Exception):
    """Bad input: the message is meant for the person, not a traceback."""


class UnknownQuestion(UserError):
    def __init__(self, question_id: str, known: list[str]):
        self.question_id = question_id
        self.suggestions = closest(question_id, known)
        hint = f" Did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"Unknown question id {question_id!r}.{hint}")


class EmptyAnswer(UserError):
    def __init__(self) -> None:
        super().__init__("The answer is empty: write a sentence or two in your own words.")


def closest(word: str, choices: list[str], n: int = 3) -> list[str]:
    found = difflib.get_close_matches(word, choices, n=n, cutoff=0.5)
    if not found:
        prefix = [c for c in choices if c.startswith(word) or word.startswith(c)]
        found = prefix[:n]
    return found


class StorageError(RuntimeError):
    """The database cannot be used (corrupt, locked, unreachable, too new). One line, names it.

    Defined here, not in bot.storage, so the tutor can tell "graded but not saved" apart without
    importing the database layer."""
