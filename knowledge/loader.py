"""Load and validate every knowledge file, reporting every problem at once.

A problem names the file, the entry id and the field, so an author can fix them all in one pass.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from knowledge.schema import Entry, QuestionFile

PACKAGE_DIR = Path(__file__).resolve().parent
QUESTIONS_DIR = PACKAGE_DIR / "questions"
DEMOS_DIR = PACKAGE_DIR / "demos"

# Every id the book's chapter 8.3 defines (DESIGN.md), plus the four extras.
REQUIRED_IDS = (
    ["8.3.41", "8.3.42", "8.3.43.1", "8.3.43.2"]
    + [f"8.3.44.{k}" for k in range(1, 5)]
    + ["8.3.45", "8.3.46.1", "8.3.46.2", "8.3.47", "8.3.48", "8.3.49", "8.3.50", "8.3.51", "8.3.52"]
    + ["8.3.53.1", "8.3.53.2", "8.3.54", "8.3.55", "8.3.56", "8.3.57.1", "8.3.57.2"]
    + ["8.3.58.1", "8.3.58.2", "8.3.58.3", "8.3.59", "8.3.60.1", "8.3.60.2", "8.3.61", "8.3.62"]
    + ["8.3.63", "8.3.64", "8.3.65", "8.3.66.1", "8.3.66.2", "8.3.67.1", "8.3.67.2", "8.3.67.3"]
    + ["8.3.68.1", "8.3.68.2", "8.3.69", "8.3.70"]
    + ["8.3.x.nonconvex", "8.3.x.l1-vs-l2", "8.3.x.diagnostics", "8.3.x.recipe"]
)


@dataclass(frozen=True)
class Problem:
    file: str
    entry: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.entry:
            where += f" [{self.entry}]"
        if self.field:
            where += f" {self.field}"
        return f"{where}: {self.message}"

    def to_json(self) -> dict:
        return {"file": self.file, "entry": self.entry, "field": self.field, "message": self.message}


@dataclass(frozen=True)
class DemoInfo:
    name: str
    title: str
    question_ids: list[str]
    path: Path


@dataclass
class KnowledgeBase:
    entries: dict[str, Entry]
    groups: dict[str, str]  # parent id -> group title
    demos: dict[str, DemoInfo]
    content_hash: str  # question files and demos
    problems: list[Problem] = field(default_factory=list)

    def get(self, question_id: str) -> Entry | None:
        return self.entries.get(question_id)

    def topics(self) -> list[str]:
        return sorted({t for e in self.entries.values() for t in e.topic_names})

    def summary(self) -> dict[str, Counter]:
        by_topic: Counter = Counter()
        by_difficulty: Counter = Counter()
        for entry in self.entries.values():
            by_topic.update(entry.topic_names)
            by_difficulty[entry.difficulty.value] += 1
        return {"topics": by_topic, "difficulty": by_difficulty}


class KnowledgeError(Exception):
    """Raised when the knowledge base has problems and a caller needs a valid one."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the knowledge base; first: {problems[0]}")


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


def load_demos(demos_dir: Path = DEMOS_DIR) -> tuple[dict[str, DemoInfo], list[Problem]]:
    """Read TITLE and QUESTION_IDS from each demo file without importing it."""
    demos: dict[str, DemoInfo] = {}
    problems: list[Problem] = []
    for path in sorted(demos_dir.glob("*.py")):
        if path.name.startswith("_"):
            continue
        name = path.stem
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except SyntaxError as exc:
            problems.append(Problem(path.name, name, None, f"demo does not parse: {exc.msg}"))
            continue
        constants = {}
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name) and target.id in ("TITLE", "QUESTION_IDS"):
                    with contextlib.suppress(ValueError):
                        constants[target.id] = ast.literal_eval(node.value)
        title, ids = constants.get("TITLE"), constants.get("QUESTION_IDS")
        if not isinstance(title, str) or not isinstance(ids, list):
            problems.append(
                Problem(path.name, name, "TITLE/QUESTION_IDS", "demo must define both as literals")
            )
            continue
        demos[name] = DemoInfo(name=name, title=title, question_ids=list(ids), path=path)
    return demos, problems


def _hash_files(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _field_path(loc: tuple) -> str | None:
    return ".".join(str(part) for part in loc) or None


def _question_files(questions_dir: Path, problems: list[Problem]) -> list[Path]:
    files = sorted(questions_dir.glob("*.yaml")) + sorted(questions_dir.glob("*.yml"))
    if not files:
        problems.append(Problem(str(questions_dir), None, None, "no question files found"))
    return files


def _read_question_file(path: Path, name: str, problems: list[Problem]) -> QuestionFile | None:
    """Parse one YAML file and check its shape; None (with the problems noted) when it fails."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problems.append(Problem(name, None, None, f"malformed YAML{where}: {getattr(exc, 'problem', exc)}"))
        return None
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(name, None, None, f"cannot read file: {exc}"))
        return None
    try:
        return QuestionFile.model_validate(raw if isinstance(raw, dict) else {"entries": raw})
    except ValidationError as exc:
        problems.extend(Problem(name, None, _field_path(err["loc"]), err["msg"]) for err in exc.errors())
        return None


def _validate_entry(item: object, position: int, name: str, problems: list[Problem]) -> Entry | None:
    """One item of a file's entries as an Entry; None (with the problems noted) when invalid."""
    entry_id = str(item.get("id", f"#{position}")) if isinstance(item, dict) else f"#{position}"
    if not isinstance(item, dict):
        problems.append(Problem(name, entry_id, None, "entry must be a mapping"))
        return None
    try:
        return Entry.model_validate(item)
    except ValidationError as exc:
        problems.extend(Problem(name, entry_id, _field_path(err["loc"]), err["msg"]) for err in exc.errors())
        return None


@dataclass
class _Entries:
    """The valid entries read so far, with the file each came from."""

    entries: dict[str, Entry] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)  # entry id -> file name
    groups: dict[str, str] = field(default_factory=dict)  # parent id -> group title

    def add(self, entry: Entry, name: str, group: str | None, problems: list[Problem]) -> None:
        if entry.id in self.entries:
            problems.append(
                Problem(name, entry.id, "id", f"duplicate id (first defined in {self.origin[entry.id]})")
            )
            return
        self.entries[entry.id] = entry
        self.origin[entry.id] = name
        if entry.parent and group:
            self.groups[entry.parent] = group


def _read_entries(files: list[Path], questions_dir: Path, problems: list[Problem]) -> _Entries:
    found = _Entries()
    for path in files:
        name = _relative(path, questions_dir)
        qfile = _read_question_file(path, name, problems)
        if qfile is None:
            continue
        for position, item in enumerate(qfile.entries, start=1):
            entry = _validate_entry(item, position, name, problems)
            if entry is not None:
                found.add(entry, name, qfile.group, problems)
    return found


def _entry_references(entry: Entry, name: str, entries: dict[str, Entry],
                      demos: dict[str, DemoInfo]) -> list[Problem]:
    """An entry's follow-ups and demos name entries and demos that exist (and not itself)."""
    problems = []
    for i, ref in enumerate(entry.follow_ups):
        if ref not in entries:
            problems.append(Problem(name, entry.id, f"follow_ups.{i}", f"unknown id {ref!r}"))
        elif ref == entry.id:
            problems.append(Problem(name, entry.id, f"follow_ups.{i}", "refers to itself"))
    problems.extend(Problem(name, entry.id, f"demos.{i}", f"unknown demo {demo!r}")
                    for i, demo in enumerate(entry.demos) if demo not in demos)
    return problems


def _demo_references(demos: dict[str, DemoInfo], entries: dict[str, Entry]) -> list[Problem]:
    return [Problem(info.path.name, info.name, "QUESTION_IDS", f"unknown id {ref!r}")
            for info in demos.values() for ref in info.question_ids if ref not in entries]


def _missing_required(entries: dict[str, Entry], questions_dir: Path) -> list[Problem]:
    return [Problem(str(questions_dir.name), required, None, "required entry is missing")
            for required in REQUIRED_IDS if required not in entries]


def load_knowledge(
    questions_dir: Path = QUESTIONS_DIR,
    demos_dir: Path = DEMOS_DIR,
    *,
    require_all: bool | None = None,
) -> KnowledgeBase:
    """Load every YAML file; collect every problem instead of stopping at the first.

    `require_all` checks that every id of the book's chapter is present; it defaults to on for the
    bundled knowledge and off for other directories (tests, drafts).
    """
    if require_all is None:
        require_all = questions_dir.resolve() == QUESTIONS_DIR
    problems: list[Problem] = []
    files = _question_files(questions_dir, problems)
    found = _read_entries(files, questions_dir, problems)
    demos, demo_problems = load_demos(demos_dir)
    problems.extend(demo_problems)
    for entry in found.entries.values():
        problems.extend(_entry_references(entry, found.origin[entry.id], found.entries, demos))
    if require_all:
        problems.extend(_demo_references(demos, found.entries))
        problems.extend(_missing_required(found.entries, questions_dir))
    content_hash = _hash_files(files + [p.path for p in demos.values()]) if files else "empty"
    return KnowledgeBase(found.entries, found.groups, demos, content_hash, problems)


def load_valid_knowledge(questions_dir: Path = QUESTIONS_DIR) -> KnowledgeBase:
    """Load the knowledge base or raise KnowledgeError listing every problem."""
    kb = load_knowledge(questions_dir)
    if kb.problems:
        raise KnowledgeError(kb.problems)
    return kb
