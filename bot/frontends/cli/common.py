"""What every `gradcheck` command shares: exit codes, JSON output, the runtime with its
first-run notes, and reading text and JSON Lines safely (DESIGN.md's command-line contract)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

EXIT_OK, EXIT_FAIL, EXIT_BAD_INPUT = 0, 1, 2


class BadInput(Exception):
    """Turned into exit code 2 and one line on stderr."""


def print_json(data) -> None:
    text = json.dumps(data, ensure_ascii=False)
    if not is_text(text):  # a lone surrogate cannot be written as UTF-8: escape it instead
        text = json.dumps(data)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def stdout_console():
    from rich.console import Console

    return Console(highlight=False)


def make_runtime(progress: bool = False):
    """The Runtime for a command. Building the index (first run in a data dir, or the knowledge
    changed) is said on stderr, with a progress bar on a terminal; `progress` (index build) always
    shows the bar."""
    from bot.app.runtime import Runtime

    return Runtime(progress=IndexProgress(always=progress))


class IndexProgress:
    """Runtime's index-build hook: it is only called when the index is (re)built."""

    def __init__(self, always: bool = False):
        self.always = always
        self.announced = False  # the caller already said why this run is slow

    def __call__(self, chunks: Iterable) -> Iterator:
        chunks = list(chunks)
        started = time.perf_counter()
        if not self.always and not self.announced:
            note("building the search index (first run in this data dir, or the knowledge "
                  "files changed; 10-40 s)...")
        if self.always or sys.stderr.isatty():
            from rich.progress import Progress

            with Progress(console=stderr_console(), transient=not self.always,
                          redirect_stdout=False, redirect_stderr=False) as bar:
                task = bar.add_task("Building index" if self.always else "Building the search index",
                                    total=len(chunks))
                for item in chunks:
                    yield item
                    bar.advance(task)
        else:
            yield from chunks
        if not self.always and not self.announced:
            note(f"search index ready ({time.perf_counter() - started:.0f} s)")


def note(message: str) -> None:
    print(f"gradcheck: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def first_run(message: str, spinner: bool = True) -> Iterator[None]:
    """Say on stderr that slow once-only work is under way (a spinner on a terminal)."""
    started = time.perf_counter()
    note(f"{message}...")
    if spinner and sys.stderr.isatty():
        with stderr_console().status("working (once per data dir)..."):
            yield
    else:
        yield
    note(f"ready ({time.perf_counter() - started:.0f} s)")


def loaded_grader(rt, spinner: bool = True):
    """rt.grader; the first run in a data dir exports the grading model first, and says so."""
    settings = rt.settings
    if "grader" in rt.__dict__ or settings.backend != "onnx" or (
            settings.onnx_dir.is_dir() and any(settings.onnx_dir.glob("judge-*.onnx"))):
        return rt.grader
    with first_run("first run in this data dir: preparing the grading model (once; up to a "
                    "minute)", spinner=spinner):
        return rt.grader


def loaded_retriever(rt):
    """rt.retriever; a first run in a data dir builds the search index first, and says so."""
    if "retriever" in rt.__dict__ or (rt.settings.index_dir / "meta.json").exists():
        return rt.retriever
    if isinstance(rt.progress, IndexProgress):
        rt.progress.announced = True
    with first_run("first run in this data dir: building the search index (once; 10-40 s)",
                    spinner=False):  # the index build shows its own bar
        return rt.retriever


def input_checker(rt):
    """Grader.check_item without the model: bad input is refused before anything slow loads."""
    from bot.grading.grader import Grader

    return rt.__dict__.get("grader") or Grader(rt.kb, None, max_chars=rt.settings.max_answer_chars)


def stderr_console():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


# --- input text ----------------------------------------------------------------------------------


def is_text(value) -> bool:
    """False when a string (or any string inside a JSON value) holds a lone surrogate: undecodable
    bytes in argv, or a JSON escape such as "\\ud800". No tokenizer takes it, nor does UTF-8."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(is_text(k) and is_text(v) for k, v in value.items())
    if isinstance(value, list):
        return all(is_text(v) for v in value)
    return True


def text_arg(value: str | None, what: str) -> str | None:
    if value is not None and not is_text(value):
        raise BadInput(f"{what} is not valid UTF-8 text")
    return value


def read_stdin(what: str) -> str | None:
    binary = getattr(sys.stdin, "buffer", None)
    if binary is None:  # a text stream without bytes underneath (embedding, tests)
        return text_arg(sys.stdin.read(), f"{what} on stdin")
    data = binary.read()
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{what} on stdin is not valid UTF-8 (byte {exc.start + 1})") from exc


def read_jsonl(source: str) -> Iterator[tuple[int, dict | None, str | None]]:
    """(line number, object or None, error or None) for each non-blank line. A line that is not
    UTF-8, not JSON, not an object, or holds a lone surrogate is an error of its own; the other
    lines are unaffected. An unreadable file raises BadInput here, before any line is read."""
    if source == "-":
        return _jsonl_lines(getattr(sys.stdin, "buffer", sys.stdin), close=False)
    try:
        handle = open(source, "rb")  # noqa: SIM115 (closed by _jsonl_lines)
    except OSError as exc:
        raise BadInput(f"cannot read {source}: {exc.strerror or exc}") from exc
    return _jsonl_lines(handle, close=True)


def _jsonl_lines(handle, close: bool) -> Iterator[tuple[int, dict | None, str | None]]:
    try:
        for number, raw in enumerate(handle, start=1):
            parsed = _parse_jsonl_line(number, raw)
            if parsed is not None:
                yield parsed
    finally:
        if close:
            handle.close()


def _parse_jsonl_line(number: int, raw: bytes | str) -> tuple[int, dict | None, str | None] | None:
    if isinstance(raw, bytes):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return number, None, f"line {number}: not valid UTF-8 (byte {exc.start + 1})"
    else:
        line = raw
    if number == 1:
        line = line.removeprefix("\ufeff")
    if not line.strip():
        return None
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return number, None, f"line {number}: not valid JSON ({exc.msg})"
    except RecursionError:
        return number, None, f"line {number}: JSON nested too deeply"
    if not isinstance(obj, dict):
        return number, None, f"line {number}: expected a JSON object"
    if not is_text(obj):
        return number, None, (f"line {number}: not valid Unicode text "
                              "(a lone surrogate such as \\ud800)")
    return number, obj, None


