"""`gradcheck grade` and `gradcheck ask`, one at a time or in batches (JSON Lines in, one JSON
object per line out, in input order, streamed group by group)."""

from __future__ import annotations

import logging
import queue
import sys
import threading
from collections.abc import Iterator

from bot.frontends.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_FAIL,
    EXIT_OK,
    BadInput,
    input_checker,
    loaded_grader,
    loaded_retriever,
    make_runtime,
    print_json,
    read_jsonl,
    read_stdin,
    stderr_console,
    stdout_console,
    text_arg,
)


def cmd_grade(args) -> int:
    from bot.domain.errors import UserError
    from bot.frontends.render import render_grade

    if args.hints < 0:
        raise BadInput("--hints must be 0 or more")
    rt = make_runtime()
    if args.batch:
        return _grade_batch(rt, args)
    if args.question_id is None or args.answer is None:
        raise BadInput("give a question id and an answer, or --batch FILE")
    question_id = text_arg(args.question_id, "the question id")
    answer = read_stdin("the answer") if args.answer == "-" else text_arg(args.answer, "the answer")
    try:  # before the model loads: a bad id or an empty answer is refused at once
        input_checker(rt).check_item(question_id, answer)
    except UserError as exc:
        raise BadInput(str(exc)) from exc
    result = loaded_grader(rt).grade(question_id, answer, hints_used=args.hints)
    if args.json:
        print_json(result.to_json())
    else:
        render_grade(stdout_console(), rt.kb.entries[question_id], result)
    return EXIT_OK


BATCH_GROUP = 16  # answers graded per model call in grade --batch; results stream out per group
BATCH_IDLE = 0.2  # seconds without new input after which a partial group is graded


def _grade_batch(rt, args) -> int:
    """Streams: lines are read, checked (no model needed) and graded group by group, and each
    group's results are printed, in input order, as soon as it is graded."""
    from bot.domain.errors import UserError

    lines = read_jsonl(args.batch)  # an unreadable file fails here, before the model loads
    checker = input_checker(rt)
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
                    print_json({"line": number, "error": str(outcome)})
                else:
                    print_json(outcome.to_json())
                progress.advance()
    return EXIT_FAIL if failed else EXIT_BAD_INPUT if bad_input else EXIT_OK


class _Failure(str):
    """A line that was valid but could not be graded (exit code 1, not 2)."""

    __slots__ = ()


def _grade_group(rt, good: list[tuple[int, str, str]]) -> dict:
    """{line: GradeResult or _Failure}: one model call for the group; if it fails, each answer on
    its own, so one answer that breaks the model costs only its own line."""
    grader = loaded_grader(rt, spinner=False)  # a model that cannot load fails the command, not a line
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

            self._bar = Progress(console=stderr_console(), transient=True,
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
    rt = make_runtime()
    if args.batch:
        lines = list(read_jsonl(args.batch))
        queries = [(n, obj.get("query")) for n, obj, err in lines if obj is not None and err is None]
        valid = [(n, q) for n, q in queries if isinstance(q, str) and q.strip()]
        answers = dict(zip([n for n, _ in valid],
                           loaded_retriever(rt).ask_many([q for _, q in valid], k=args.k) if valid else [],
                           strict=True))
        failed = False
        for number, _, error in lines:
            if number in answers:
                print_json(answers[number].to_json())
            else:
                failed = True
                message = error or f"line {number}: needs a non-empty string field query"
                print(message, file=sys.stderr)
                print_json({"line": number, "error": message})
        return EXIT_BAD_INPUT if failed else EXIT_OK
    text = text_arg(" ".join(args.text or []).strip(), "the question")
    if not text:
        raise BadInput("the question is empty: ask something, e.g. gradcheck ask 'why clip gradients'")
    context = text_arg(args.context, "--context")
    if context and context not in rt.kb.entries:
        from bot.domain.errors import UnknownQuestion

        raise BadInput(str(UnknownQuestion(context, list(rt.kb.entries))))
    result = loaded_retriever(rt).ask(text, k=args.k, context_id=context)
    if args.json:
        print_json(result.to_json())
    else:
        render_ask(stdout_console(), result)
    return EXIT_OK


