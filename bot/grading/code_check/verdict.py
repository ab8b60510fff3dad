"""The verdict of a code check: "verified", "wrong" or "unknown", with a sentence for the learner."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CodeCheck:
    status: str  # "verified" | "wrong" | "unknown"
    detail: str  # one plain sentence for the learner; "" when unknown
    checked: tuple[str, ...]  # gradient names that were checked numerically, e.g. ("dW1", "db1", "dW2", "db2")


UNKNOWN = CodeCheck("unknown", "", ())
