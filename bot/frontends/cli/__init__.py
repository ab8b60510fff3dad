"""The `gradcheck` console script.

Contract (DESIGN.md): `--json` prints only JSON on stdout, logs go to stderr; exit 0 on success,
2 on bad input with a one-line reason on stderr; batch modes read JSON Lines from a file or `-`
and write one JSON object per input line, in input order.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

EXIT_OK, EXIT_FAIL, EXIT_BAD_INPUT = 0, 1, 2


class BadInput(Exception):
    """Turned into exit code 2 and one line on stderr."""


def _print_json(data) -> None:
    text = json.dumps(data, ensure_ascii=False)
    if not _is_text(text):  # a lone surrogate cannot be written as UTF-8: escape it instead
        text = json.dumps(data)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _console():
    from rich.console import Console

    return Console(highlight=False)


def _runtime(progress: bool = False):
    """The Runtime for a command. Building the index (first run in a data dir, or the knowledge
    changed) is said on stderr, with a progress bar on a terminal; `progress` (index build) always
    shows the bar."""
    from bot.app.runtime import Runtime

    return Runtime(progress=_IndexProgress(always=progress))


class _IndexProgress:
    """Runtime's index-build hook: it is only called when the index is (re)built."""

    def __init__(self, always: bool = False):
        self.always = always
        self.announced = False  # the caller already said why this run is slow

    def __call__(self, chunks: Iterable) -> Iterator:
        chunks = list(chunks)
        started = time.perf_counter()
        if not self.always and not self.announced:
            _note("building the search index (first run in this data dir, or the knowledge "
                  "files changed; 10-40 s)...")
        if self.always or sys.stderr.isatty():
            from rich.progress import Progress

            with Progress(console=_stderr_console(), transient=not self.always,
                          redirect_stdout=False, redirect_stderr=False) as bar:
                task = bar.add_task("Building index" if self.always else "Building the search index",
                                    total=len(chunks))
                for item in chunks:
                    yield item
                    bar.advance(task)
        else:
            yield from chunks
        if not self.always and not self.announced:
            _note(f"search index ready ({time.perf_counter() - started:.0f} s)")


def _note(message: str) -> None:
    print(f"gradcheck: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _first_run(message: str, spinner: bool = True) -> Iterator[None]:
    """Say on stderr that slow once-only work is under way (a spinner on a terminal)."""
    started = time.perf_counter()
    _note(f"{message}...")
    if spinner and sys.stderr.isatty():
        with _stderr_console().status("working (once per data dir)..."):
            yield
    else:
        yield
    _note(f"ready ({time.perf_counter() - started:.0f} s)")


def _grader(rt, spinner: bool = True):
    """rt.grader; the first run in a data dir exports the grading model first, and says so."""
    settings = rt.settings
    if "grader" in rt.__dict__ or settings.backend != "onnx" or (
            settings.onnx_dir.is_dir() and any(settings.onnx_dir.glob("judge-*.onnx"))):
        return rt.grader
    with _first_run("first run in this data dir: preparing the grading model (once; up to a "
                    "minute)", spinner=spinner):
        return rt.grader


def _retriever(rt):
    """rt.retriever; a first run in a data dir builds the search index first, and says so."""
    if "retriever" in rt.__dict__ or (rt.settings.index_dir / "meta.json").exists():
        return rt.retriever
    if isinstance(rt.progress, _IndexProgress):
        rt.progress.announced = True
    with _first_run("first run in this data dir: building the search index (once; 10-40 s)",
                    spinner=False):  # the index build shows its own bar
        return rt.retriever


def _checker(rt):
    """Grader.check_item without the model: bad input is refused before anything slow loads."""
    from bot.grading.grader import Grader

    return rt.__dict__.get("grader") or Grader(rt.kb, None, max_chars=rt.settings.max_answer_chars)


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


# --- input text ----------------------------------------------------------------------------------


def _is_text(value) -> bool:
    """False when a string (or any string inside a JSON value) holds a lone surrogate: undecodable
    bytes in argv, or a JSON escape such as "\\ud800". No tokenizer takes it, nor does UTF-8."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_is_text(k) and _is_text(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_is_text(v) for v in value)
    return True


def _text_arg(value: str | None, what: str) -> str | None:
    if value is not None and not _is_text(value):
        raise BadInput(f"{what} is not valid UTF-8 text")
    return value


def _read_stdin(what: str) -> str | None:
    binary = getattr(sys.stdin, "buffer", None)
    if binary is None:  # a text stream without bytes underneath (embedding, tests)
        return _text_arg(sys.stdin.read(), f"{what} on stdin")
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
    if not _is_text(obj):
        return number, None, (f"line {number}: not valid Unicode text "
                              "(a lone surrogate such as \\ud800)")
    return number, obj, None


# --- kb ------------------------------------------------------------------------------------------


def cmd_kb_validate(args) -> int:
    from knowledge.loader import QUESTIONS_DIR, load_knowledge

    kb = load_knowledge(Path(args.dir) if args.dir else QUESTIONS_DIR)
    if args.json:
        _print_json({"entries": len(kb.entries), "problems": [p.to_json() for p in kb.problems]})
    elif kb.problems:
        for problem in kb.problems:
            print(problem, file=sys.stderr)
        print(f"{len(kb.problems)} problem(s) in {len(kb.entries)} valid entries.", file=sys.stderr)
    else:
        summary = kb.summary()
        console = _console()
        console.print(f"[bold green]{len(kb.entries)} entries[/], no problems. "
                      f"{len(kb.demos)} demos.")
        console.print("By difficulty: " + ", ".join(
            f"{k} {v}" for k, v in sorted(summary["difficulty"].items())))
        console.print("By topic: " + ", ".join(
            f"{k} {v}" for k, v in sorted(summary["topics"].items())))
    return EXIT_BAD_INPUT if kb.problems else EXIT_OK


# --- index ---------------------------------------------------------------------------------------


def cmd_index_build(args) -> int:
    rt = _runtime(progress=True)
    index = rt.rebuild_index()
    meta = index.meta
    if args.json:
        from dataclasses import asdict

        _print_json(asdict(meta) | {"path": str(rt.settings.index_dir)})
    else:
        print(f"Index built: {meta.rows} rows, {meta.kind}, model {meta.model}, "
              f"{meta.build_seconds:.1f}s -> {rt.settings.index_dir}")
    return EXIT_OK


# --- grade / ask ---------------------------------------------------------------------------------


def cmd_grade(args) -> int:
    from bot.domain.errors import UserError
    from bot.frontends.render import render_grade

    if args.hints < 0:
        raise BadInput("--hints must be 0 or more")
    rt = _runtime()
    if args.batch:
        return _grade_batch(rt, args)
    if args.question_id is None or args.answer is None:
        raise BadInput("give a question id and an answer, or --batch FILE")
    question_id = _text_arg(args.question_id, "the question id")
    answer = _read_stdin("the answer") if args.answer == "-" else _text_arg(args.answer, "the answer")
    try:  # before the model loads: a bad id or an empty answer is refused at once
        _checker(rt).check_item(question_id, answer)
    except UserError as exc:
        raise BadInput(str(exc)) from exc
    result = _grader(rt).grade(question_id, answer, hints_used=args.hints)
    if args.json:
        _print_json(result.to_json())
    else:
        render_grade(_console(), rt.kb.entries[question_id], result)
    return EXIT_OK


BATCH_GROUP = 16  # answers graded per model call in grade --batch; results stream out per group
BATCH_IDLE = 0.2  # seconds without new input after which a partial group is graded


def _grade_batch(rt, args) -> int:
    """Streams: lines are read, checked (no model needed) and graded group by group, and each
    group's results are printed, in input order, as soon as it is graded."""
    from bot.domain.errors import UserError

    lines = read_jsonl(args.batch)  # an unreadable file fails here, before the model loads
    checker = _checker(rt)
    bad_input = failed = False
    with _BatchProgress(_count_lines(args.batch), "Grading") as progress:
        for group in _groups(lines, BATCH_GROUP, BATCH_IDLE):
            errors: dict[int, str] = {}
            good: list[tuple[int, str, str]] = []
            for number, obj, error in group:
                if error is None:
                    qid, answer = obj.get("question_id"), obj.get("answer")
                    if not isinstance(qid, str) or not isinstance(answer, str):
                        error = f"line {number}: needs string fields question_id and answer"
                    else:
                        try:
                            checker.check_item(qid, answer)
                            good.append((number, qid, answer))
                        except UserError as exc:
                            error = f"line {number}: {exc}"
                if error:
                    errors[number] = error
                    bad_input = True
            results = _grade_group(rt, good) if good else {}
            for number, _, _ in group:
                outcome = errors.get(number) or results[number]
                if isinstance(outcome, str):  # an error (a _Failure is one too)
                    failed |= isinstance(outcome, _Failure)
                    progress.note(str(outcome))
                    _print_json({"line": number, "error": str(outcome)})
                else:
                    _print_json(outcome.to_json())
                progress.advance()
    return EXIT_FAIL if failed else EXIT_BAD_INPUT if bad_input else EXIT_OK


class _Failure(str):
    """A line that was valid but could not be graded (exit code 1, not 2)."""

    __slots__ = ()


def _grade_group(rt, good: list[tuple[int, str, str]]) -> dict:
    """{line: GradeResult or _Failure}: one model call for the group; if it fails, each answer on
    its own, so one answer that breaks the model costs only its own line."""
    grader = _grader(rt, spinner=False)  # a model that cannot load fails the command, not a line
    try:
        graded = grader.grade_many([(q, a, 0) for _, q, a in good])
        return {n: r for (n, _, _), r in zip(good, graded, strict=True)}
    except Exception:
        logging.getLogger("gradcheck").info("grading a group failed; one by one", exc_info=True)
    results: dict = {}
    for number, qid, answer in good:
        try:
            results[number] = grader.grade_many([(qid, answer, 0)])[0]
        except Exception as exc:
            logging.getLogger("gradcheck").info("line %d failed", number, exc_info=True)
            results[number] = _Failure(
                f"line {number}: could not grade this answer ({type(exc).__name__}: {exc})")
    return results


def _groups(lines: Iterator, size: int, idle: float) -> Iterator[list]:
    """Consecutive input lines in groups of `size`, or fewer when the input pauses (a producer
    still writing into the pipe), so results come out while the input is still coming in. The
    lines are read on a helper thread; its errors are raised here."""
    feed: queue.Queue = queue.Queue(maxsize=4 * size)
    end = object()

    def read() -> None:
        try:
            for line in lines:
                feed.put(line)
        except BaseException as exc:  # handed to the main thread
            feed.put(_ReadFailed(exc))
        feed.put(end)

    threading.Thread(target=read, name="gradcheck-batch-reader", daemon=True).start()
    group: list = []
    while True:
        try:
            item = feed.get(timeout=idle) if group else feed.get()
        except queue.Empty:
            yield group
            group = []
            continue
        if item is end:
            break
        if isinstance(item, _ReadFailed):
            raise item.error
        group.append(item)
        if len(group) >= size:
            yield group
            group = []
    if group:
        yield group


class _ReadFailed:
    def __init__(self, error: BaseException):
        self.error = error


def _count_lines(source: str) -> int | None:
    """Non-blank lines of a batch file, for the progress bar (None for stdin or no bar)."""
    if source == "-" or not _BatchProgress.wanted():
        return None
    try:
        with open(source, "rb") as handle:
            return sum(1 for line in handle if line.strip())
    except OSError:
        return None


class _BatchProgress:
    """A progress bar on stderr when stderr is a terminal (and stdout is not: there the streamed
    results themselves show the progress, and a live bar would garble them); error lines go to
    stderr either way."""

    def __init__(self, total: int | None, label: str):
        self._bar = None
        if self.wanted():
            from rich.progress import Progress

            self._bar = Progress(console=_stderr_console(), transient=True,
                                 redirect_stdout=False, redirect_stderr=False)
            self._task = self._bar.add_task(label, total=total)

    @staticmethod
    def wanted() -> bool:
        return sys.stderr.isatty() and not sys.stdout.isatty()

    def __enter__(self) -> _BatchProgress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()

    def note(self, message: str) -> None:
        if self._bar is not None:
            self._bar.console.print(message, markup=False, highlight=False, soft_wrap=True)
        else:
            print(message, file=sys.stderr, flush=True)

    def advance(self) -> None:
        if self._bar is not None:
            self._bar.advance(self._task)


def cmd_ask(args) -> int:
    from bot.frontends.render import render_ask

    if args.k < 1:
        raise BadInput(f"--k must be at least 1 (got {args.k})")
    rt = _runtime()
    if args.batch:
        lines = list(read_jsonl(args.batch))
        queries = [(n, obj.get("query")) for n, obj, err in lines if obj is not None and err is None]
        valid = [(n, q) for n, q in queries if isinstance(q, str) and q.strip()]
        answers = dict(zip([n for n, _ in valid],
                           _retriever(rt).ask_many([q for _, q in valid], k=args.k) if valid else [],
                           strict=True))
        failed = False
        for number, _, error in lines:
            if number in answers:
                _print_json(answers[number].to_json())
            else:
                failed = True
                message = error or f"line {number}: needs a non-empty string field query"
                print(message, file=sys.stderr)
                _print_json({"line": number, "error": message})
        return EXIT_BAD_INPUT if failed else EXIT_OK
    text = _text_arg(" ".join(args.text or []).strip(), "the question")
    if not text:
        raise BadInput("the question is empty: ask something, e.g. gradcheck ask 'why clip gradients'")
    context = _text_arg(args.context, "--context")
    if context and context not in rt.kb.entries:
        from bot.domain.errors import UnknownQuestion

        raise BadInput(str(UnknownQuestion(context, list(rt.kb.entries))))
    result = _retriever(rt).ask(text, k=args.k, context_id=context)
    if args.json:
        _print_json(result.to_json())
    else:
        render_ask(_console(), result)
    return EXIT_OK


# --- demos ---------------------------------------------------------------------------------------


def cmd_demo_list(args) -> int:
    from knowledge.loader import load_demos

    demos, _ = load_demos()
    if args.json:
        _print_json([{"name": d.name, "title": d.title, "question_ids": d.question_ids}
                     for d in demos.values()])
    else:
        for d in demos.values():
            print(f"{d.name:24} {d.title}  ({', '.join(d.question_ids)})")
    return EXIT_OK


def cmd_demo_run(args) -> int:
    from bot.app.settings import get_settings
    from bot.tutor.demos import UnknownDemo, find_demo, run_demo

    if not args.timeout > 0:
        raise BadInput(f"--timeout must be a positive number of seconds (got {args.timeout})")
    try:
        find_demo(args.name)
    except UnknownDemo as exc:
        raise BadInput(str(exc)) from exc
    out = Path(args.out) if args.out else get_settings().demo_dir / args.name
    _writable_dir(out, "--out" if args.out else "the demo output dir")
    try:
        run = run_demo(args.name, out, timeout=args.timeout)
    except UnknownDemo as exc:
        raise BadInput(str(exc)) from exc
    if args.json:
        _print_json(run.to_json())
    else:
        sys.stdout.write(run.output)
        if run.stderr.strip():
            sys.stderr.write(run.stderr)
        print(f"\n[{run.name}] {'passed' if run.ok else 'FAILED'} in {run.seconds:.1f}s; "
              f"plots: {', '.join(map(str, run.plots)) or 'none'}")
    return EXIT_OK if run.ok else EXIT_FAIL


def _writable_dir(path: Path, what: str) -> None:
    """Create `path` if needed and make sure files can be written there (BadInput otherwise)."""
    import tempfile

    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise BadInput(f"{what} {path}: exists and is not a directory") from exc
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise BadInput(f"{what} {path}: cannot create the directory ({reason})") from exc
    if not path.is_dir():
        raise BadInput(f"{what} {path}: not a directory")
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".gradcheck-probe-"):
            pass
    except OSError as exc:
        raise BadInput(f"{what} {path}: cannot write there ({exc.strerror or exc})") from exc


# --- eval / bench --------------------------------------------------------------------------------


def cmd_eval(args) -> int:
    from bot.grading import evaluation

    try:
        if args.kind == "asag":
            report = evaluation.eval_asag(args.file, baseline=args.baseline, runtime_factory=_runtime)
        elif args.kind == "grading":
            report = evaluation.eval_grading(args.file, baseline=args.baseline,
                                             runtime_factory=_runtime, calibrate=args.calibrate,
                                             save=args.save)
        else:
            report = evaluation.eval_retrieval(args.file, baseline=args.baseline,
                                               runtime_factory=_runtime)
    except evaluation.EvalInputError as exc:
        raise BadInput(str(exc)) from exc
    if args.json:
        _print_json(report)
    else:
        print(evaluation.format_report(args.kind, report))
    return EXIT_OK


def cmd_train(args) -> int:
    from dataclasses import replace

    from bot.grading.train import MODEL_DIR, TrainSettings, train

    if args.limit is not None and args.limit < 1:
        raise BadInput("--limit must be at least 1")
    if args.epochs is not None and args.epochs < 1:
        raise BadInput("--epochs must be at least 1")
    if args.beetle_test is not None and not args.beetle_test.is_file():
        raise BadInput(f"no such file: {args.beetle_test}")
    settings = TrainSettings() if args.epochs is None else replace(TrainSettings(), epochs=args.epochs)
    card = train(args.out or MODEL_DIR, settings, limit=args.limit, beetle_test=args.beetle_test,
                 progress=sys.stderr.isatty())
    summary = {k: card[k] for k in ("examples", "train_seconds", "metrics")} | {
        "out": str(args.out or MODEL_DIR)}
    if args.json:
        _print_json(summary)
    else:
        print(f"trained on {card['examples']} examples in {card['train_seconds']} s; "
              f"model and MODEL_CARD.md in {summary['out']}")
    return EXIT_OK


def cmd_bench(args) -> int:
    from bot.app.bench import format_bench, run_bench

    if args.capacity:
        from bot.app.capacity import format_capacity, measure_capacity

        if args.seconds <= 0 or args.users < 1:
            raise BadInput("--seconds must be positive and --users at least 1")
        report = measure_capacity(seconds=args.seconds, users=args.users,
                                  database_url=args.database_url)
        if args.json:
            _print_json(report)
        else:
            print(format_capacity(report))
        return EXIT_OK
    report = run_bench(burst=args.burst, repeats=args.repeats)
    if args.json:
        _print_json(report)
    else:
        print(format_bench(report))
    return EXIT_OK


# --- front ends ----------------------------------------------------------------------------------


def cmd_chat(args) -> int:
    from bot.frontends.terminal.app import run_terminal

    return run_terminal(user=args.user)


def cmd_discord(args) -> int:
    from bot.frontends.discord.bot import run_discord

    _start_metrics()
    return run_discord()


def _start_metrics() -> None:
    """Serve /metrics when GRADCHECK_METRICS_PORT is set (off by default)."""
    from bot.app.settings import get_settings

    settings = get_settings()
    if settings.metrics_port is None:
        return
    from bot.app.metrics import start_server

    host, port = settings.metrics_host, settings.metrics_port
    try:
        start_server(host, port)
    except OSError as exc:
        raise BadInput(f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}") from exc
    logging.getLogger("gradcheck").info("metrics at http://%s:%d/metrics", host, port)


# --- operations ----------------------------------------------------------------------------------


def cmd_db_upgrade(args) -> int:
    import asyncio

    from sqlalchemy.exc import DBAPIError

    from bot.app.health import current_revision, head_revision
    from bot.app.settings import get_settings
    from bot.storage.database import StorageError, database_label, storage_error
    from bot.storage.progress import ProgressStore

    url = get_settings().resolved_database_url
    label = database_label(url)

    async def upgrade() -> str | None:
        store = await ProgressStore.open(url)  # migrates; failures are one-line StorageErrors
        await store.close()
        try:
            return await current_revision(url)
        except (DBAPIError, OSError) as exc:
            raise storage_error(label, exc) from exc

    try:
        revision = asyncio.run(upgrade())
    except StorageError as exc:
        raise BadInput(str(exc)) from exc
    head = head_revision()
    if args.json:
        _print_json({"database": label, "revision": revision, "head": head})
    else:
        print(f"{label} is at revision {revision}" + (" (head)" if revision == head else ""))
    return EXIT_OK


def cmd_health(args) -> int:
    from bot.app import health
    from bot.app.settings import get_settings

    checks = health.run_checks(get_settings())
    code = health.exit_code(checks)
    if args.json:
        _print_json({"ok": code == 0, "exit_code": code,
                     "checks": [check.to_json() for check in checks]})
    else:
        print(health.format_checks(checks))
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gradcheck", description="Practise ML interview questions.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    parser.add_argument("--log-json", action="store_true",
                        help="log one JSON object per line (also GRADCHECK_LOG_FORMAT=json)")
    sub = parser.add_subparsers(dest="command", required=True)

    chat = sub.add_parser("chat", help="the terminal tutor (no token, no server)")
    chat.add_argument("--user", default=None, help="whose progress to use (default: your login name)")
    chat.set_defaults(func=cmd_chat)
    sub.add_parser("discord", help="run the Discord bot (needs DISCORD_TOKEN)").set_defaults(func=cmd_discord)

    kb = sub.add_parser("kb", help="the knowledge base").add_subparsers(dest="kb_command", required=True)
    validate = kb.add_parser("validate", help="validate every knowledge file")
    validate.add_argument("--json", action="store_true")
    validate.add_argument("--dir", help=argparse.SUPPRESS)  # another questions folder (tests, drafts)
    validate.set_defaults(func=cmd_kb_validate)

    idx = sub.add_parser("index", help="the FAISS index").add_subparsers(dest="index_command", required=True)
    build = idx.add_parser("build", help="(re)build the index")
    build.add_argument("--json", action="store_true")
    build.set_defaults(func=cmd_index_build)

    grade = sub.add_parser("grade", help="grade an answer: gradcheck grade ID ANSWER")
    grade.add_argument("question_id", nargs="?")
    grade.add_argument("answer", nargs="?", help="the answer text, or - to read it from stdin")
    grade.add_argument("--batch", metavar="FILE", help="JSON Lines {question_id, answer}; - for stdin")
    grade.add_argument("--hints", type=int, default=0, help=argparse.SUPPRESS)
    grade.add_argument("--json", action="store_true")
    grade.set_defaults(func=cmd_grade)

    ask = sub.add_parser("ask", help="answer a follow-up question from the knowledge base")
    ask.add_argument("text", nargs="*")
    ask.add_argument("--batch", metavar="FILE", help="JSON Lines {query}; - for stdin")
    ask.add_argument("--k", type=int, default=3, help="how many results (default 3)")
    ask.add_argument("--context", metavar="ID", help="favour this question (as during a quiz)")
    ask.add_argument("--json", action="store_true")
    ask.set_defaults(func=cmd_ask)

    demo = sub.add_parser("demo", help="the NumPy demos").add_subparsers(dest="demo_command", required=True)
    dlist = demo.add_parser("list", help="list the demos")
    dlist.add_argument("--json", action="store_true")
    dlist.set_defaults(func=cmd_demo_list)
    drun = demo.add_parser("run", help="run a demo")
    drun.add_argument("name")
    drun.add_argument("--out", help="where plots go (default: the data dir)")
    drun.add_argument("--timeout", type=float, default=60.0)
    drun.add_argument("--json", action="store_true")
    drun.set_defaults(func=cmd_demo_run)

    ev = sub.add_parser("eval", help="measure quality").add_subparsers(dest="kind", required=True)
    for kind, baselines, what in (
        ("grading", ["tfidf"], "labelled JSONL {question_id, answer, label}"),
        ("retrieval", ["tfidf", "bm25"], "JSONL {query, question_id}"),
        ("asag", ["tfidf", "cosine"], "the Mohler 2011 CSV or the SemEval-2013 Beetle CSV"),
    ):
        p = ev.add_parser(kind, help=f"quality on {what}")
        p.add_argument("file")
        p.add_argument("--baseline", choices=baselines)
        p.add_argument("--json", action="store_true")
        if kind == "grading":
            p.add_argument("--calibrate", action="store_true",
                           help="fit the verdict model with cross-validation by question; report held-out figures")
            p.add_argument("--save", metavar="PATH", help="with --calibrate: write the model fitted on all of FILE")
        p.set_defaults(func=cmd_eval, calibrate=False, save=None)

    bench = sub.add_parser("bench", help="speed and memory figures")
    bench.add_argument("--burst", type=int, default=50)
    bench.add_argument("--repeats", type=int, default=40)
    bench.add_argument("--json", action="store_true")
    bench.add_argument("--capacity", action="store_true",
                       help="answers/s, latency and memory of one process under load (docs/deploy.md)")
    bench.add_argument("--seconds", type=float, default=20.0, help="with --capacity: how long")
    bench.add_argument("--users", type=int, default=32,
                       help="with --capacity: simultaneous answerers")
    bench.add_argument("--database-url", help="with --capacity: record attempts here "
                       "(default a temporary SQLite file)")
    bench.set_defaults(func=cmd_bench)

    train = sub.add_parser("train", help="rebuild the grading cross-encoder from the repo's data "
                           "(fixed seed; 20-45 minutes on 2 cores)")
    train.add_argument("--out", type=Path, default=None,
                       help="where to write the model (default: the shipped bot/judge_model)")
    train.add_argument("--limit", type=int, default=None, help="train on the first N examples only")
    train.add_argument("--epochs", type=int, default=None)
    train.add_argument("--beetle-test", type=Path, default=None,
                       help="the SemEval-2013 beetle.csv: put its test-split figures in the model card")
    train.add_argument("--json", action="store_true")
    train.set_defaults(func=cmd_train)

    db = sub.add_parser("db", help="the database").add_subparsers(dest="db_command", required=True)
    upgrade = db.add_parser("upgrade", help="apply the migrations (GRADCHECK_DATABASE_URL)")
    upgrade.add_argument("--json", action="store_true")
    upgrade.set_defaults(func=cmd_db_upgrade)

    health = sub.add_parser("health", help="check database, migrations, index and model; "
                            "exit 0 ok, 3 database, 4 migrations, 5 index, 6 model")
    health.add_argument("--json", action="store_true")
    health.set_defaults(func=cmd_health)
    return parser


def _log_format() -> str:
    from bot.app.settings import get_settings

    try:
        return get_settings().log_format
    except Exception:  # a bad setting is reported by the command that needs it
        return "text"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and all(arg in ("-v", "--verbose") for arg in extra):
        args.verbose = True  # -v after the command works as well as before it
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    from bot.app.logging_setup import configure_logging

    configure_logging("json" if args.log_json else _log_format(),
                      logging.INFO if args.verbose else logging.WARNING)
    # Quiet the model-loading chatter unless asked: stdout must stay clean for --json.
    if not args.verbose:
        for noisy in ("sentence_transformers", "transformers", "httpx", "faiss"):
            logging.getLogger(noisy).setLevel(logging.ERROR)
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        return args.func(args)
    except BadInput as exc:
        print(f"gradcheck: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_OK
    except Exception as exc:  # the last line of defence: no traceback reaches a user unless asked
        from knowledge.loader import KnowledgeError

        if isinstance(exc, KnowledgeError):
            print(f"gradcheck: the knowledge base is invalid ({exc}); run gradcheck kb validate",
                  file=sys.stderr)
            return EXIT_BAD_INPUT
        if args.verbose:
            import traceback

            traceback.print_exc(file=sys.stderr)
            print(f"gradcheck: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
        else:
            print(f"gradcheck: unexpected error: {type(exc).__name__}: {exc} "
                  "(rerun with -v for details)", file=sys.stderr)
        return EXIT_FAIL


def _silence_stdout() -> None:
    """After a closed pipe (gradcheck ... | head), stop the interpreter's final flush from
    complaining about it."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
