"""The shape of one curated knowledge entry, validated by pydantic.

Every rule a content author could break lives here, so the loader can report all problems at once.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.domain.enums import Difficulty
from bot.domain.ids import QUESTION_ID

# Stable ids (8.3.<n>, 8.3.<n>.<k>, 8.3.x.<slug>) and the difficulty levels: bot/domain.
ID_PATTERN = QUESTION_ID

CHAPTER_URL = "https://huyenchip.com/ml-interviews-book/contents/8.3-training-neural-networks.html"


class Topic(StrEnum):
    optimization = "optimization"
    regularization = "regularization"
    initialization = "initialization"
    activations = "activations"
    normalization = "normalization"
    architecture = "architecture"
    training_dynamics = "training-dynamics"
    distributed = "distributed"
    compression = "compression"
    privacy = "privacy"
    numpy_implementation = "numpy-implementation"


class Misconception(BaseModel):
    model_config = ConfigDict(extra="forbid")

    claim: str = Field(min_length=10)
    correction: str = Field(min_length=10)


class KeyPoint(BaseModel):
    """One atomic claim. `required`: a correct concise answer must state it; bonus points add depth."""

    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=10)]
    required: bool

    @model_validator(mode="before")
    @classmethod
    def _mapping(cls, value: object) -> object:
        if isinstance(value, str):
            raise ValueError("a key point is a mapping {text: ..., required: true|false}, not a plain string")
        return value


# How many key points must be required, by difficulty: an easy question's concise answer states
# 3-4 of them; medium and hard ones at least 2 (and always at least one).
REQUIRED_KEY_POINTS = {"E": (3, 4), "M": (2, 6), "H": (2, 6)}


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=3)
    url: HttpUrl


def normalise_answer(text: str) -> str:
    """Prose loses the hard wraps of its YAML block; code (lines indented 4 more spaces) keeps its
    line breaks as a fenced block, so it reads as code wherever the answer is shown or graded."""
    blocks: list[str] = []
    prose: list[str] = []
    code: list[str] = []

    def flush_prose() -> None:
        if prose:
            blocks.append(" ".join(" ".join(prose).split()))
            prose.clear()

    def flush_code() -> None:
        if code:
            blocks.append("```\n" + "\n".join(code).strip("\n") + "\n```")
            code.clear()

    for line in text.splitlines():
        if line.startswith("    ") and line.strip():
            flush_prose()
            code.append(line[4:].rstrip())
        elif not line.strip():
            if code:
                code.append("")
            else:
                flush_prose()
        else:
            flush_code()
            prose.append(line.strip())
    flush_code()
    flush_prose()
    return "\n\n".join(blocks)


def _word_count(text: str) -> int:
    return len(text.split())


class Entry(BaseModel):
    """One question with everything needed to ask, grade and explain it."""

    model_config = ConfigDict(extra="forbid")

    id: str
    parent: str | None = None
    prompt: str = Field(min_length=10)
    # Other ways a learner might ask this (colloquial, different vocabulary); indexed for follow-ups.
    aliases: list[str] = Field(default_factory=list, max_length=8)
    difficulty: Difficulty
    topics: list[Topic] = Field(min_length=1, max_length=4)
    reference_answer: str
    key_points: list[KeyPoint] = Field(min_length=3, max_length=6)
    misconceptions: list[Misconception] = Field(min_length=1, max_length=3)
    hints: list[str] = Field(min_length=2, max_length=3)
    follow_ups: list[str] = Field(default_factory=list)
    demos: list[str] = Field(default_factory=list)
    # The question asks for NumPy code with a backward pass: code answers are also run, in a
    # restricted interpreter, against a numerical gradient (bot.grading.code_check).
    checks_backprop_code: bool = False
    sources: list[Source] = Field(min_length=1)

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not ID_PATTERN.match(value):
            raise ValueError("must look like 8.3.<41-70>, 8.3.<n>.<k> or 8.3.x.<slug>")
        return value

    @field_validator("reference_answer")
    @classmethod
    def _answer_length(cls, value: str) -> str:
        words = _word_count(value)
        if not 80 <= words <= 250:
            raise ValueError(f"must be 80-250 words, has {words}")
        return normalise_answer(value)

    @field_validator("key_points")
    @classmethod
    def _required_key_points(cls, value: list[KeyPoint], info: ValidationInfo) -> list[KeyPoint]:
        required = sum(kp.required for kp in value)
        difficulty = info.data.get("difficulty")
        low, high = REQUIRED_KEY_POINTS.get(getattr(difficulty, "value", ""), (1, 6))
        if not low <= required <= high:
            wanted = f"{low}-{high}" if high < len(value) else f"at least {low}"
            where = f" for difficulty {difficulty.value}" if difficulty else ""
            raise ValueError(f"{wanted} key points must be required{where}; {required} are")
        return value

    @field_validator("hints")
    @classmethod
    def _non_empty_items(cls, value: list[str]) -> list[str]:
        for item in value:
            if len(item.strip()) < 10:
                raise ValueError(f"item too short to be useful: {item!r}")
        return [item.strip() for item in value]

    @model_validator(mode="after")
    def _parent_matches_id(self) -> Entry:
        match = ID_PATTERN.match(self.id)
        is_sub = bool(match and match.group(2))
        if is_sub:
            expected = self.id.rsplit(".", 1)[0]
            if self.parent != expected:
                raise ValueError(f"parent must be {expected!r} for a sub-question")
        elif self.parent is not None:
            raise ValueError("only sub-questions (8.3.<n>.<k>) have a parent")
        return self

    @property
    def key_point_texts(self) -> list[str]:
        """The key points' sentences, in order (the index progress and the search index use)."""
        return [kp.text for kp in self.key_points]

    @property
    def required_flags(self) -> list[bool]:
        """Which key points an answer needs (all of them when none is marked required)."""
        flags = [kp.required for kp in self.key_points]
        return flags if any(flags) else [True] * len(flags)

    @property
    def required_key_points(self) -> list[int]:
        """Indices of the key points a correct concise answer must state."""
        return [i for i, kp in enumerate(self.key_points) if kp.required]

    @property
    def is_book_question(self) -> bool:
        return not self.id.startswith("8.3.x.")

    @property
    def book_url(self) -> str:
        return CHAPTER_URL

    @property
    def topic_names(self) -> list[str]:
        return [t.value for t in self.topics]


class QuestionFile(BaseModel):
    """A YAML file: an optional group title (for questions with sub-questions) and its entries."""

    model_config = ConfigDict(extra="forbid")

    group: str | None = None
    entries: list[dict] = Field(min_length=1)
