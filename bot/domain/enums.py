"""The fixed vocabularies, as enums. They are StrEnums so stored rows, custom ids and JSON keep the
same plain strings as before; code compares members, never bare strings."""

from __future__ import annotations

from enum import StrEnum


class Difficulty(StrEnum):
    E = "E"
    M = "M"
    H = "H"

    @property
    def label(self) -> str:
        return DIFFICULTY_NAMES[self]


# Keyed by the enum; a plain "E" finds the same entry (a StrEnum hashes as its value).
DIFFICULTY_NAMES: dict[str, str] = {Difficulty.E: "easy", Difficulty.M: "medium", Difficulty.H: "hard"}


class Mode(StrEnum):
    """How /quiz picks (bot.tutor.chooser has the rules)."""

    NEW = "new"
    REVIEW = "review"
    WEAK = "weak"
    CRAM = "cram"


class NightState(StrEnum):
    """Where a mock night is (bot.tutor.night has the state machine)."""

    LOBBY = "lobby"
    OPEN = "open"
    REVEAL = "reveal"
    PAUSED = "paused"
    FINISHED = "finished"


class NightMode(StrEnum):
    GROUP = "group"  # everyone answers
    PAIRS = "pairs"  # interviewer mode: interviewers mark their candidate's answer


class Role(StrEnum):
    """A participant's role in interviewer mode."""

    INTERVIEWER = "interviewer"
    CANDIDATE = "candidate"
