"""The other `gradcheck` commands: kb validate, index build, demos, eval, train, bench, chat,
discord, db upgrade and health."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from bot.frontends.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_FAIL,
    EXIT_OK,
    BadInput,
    make_runtime,
    print_json,
    stdout_console,
)

# --- kb ------------------------------------------------------------------------------------------


def cmd_kb_validate(args) -> int:
    from knowledge.loader import QUESTIONS_DIR, load_knowledge

    kb = load_knowledge(Path(args.dir) if args.dir else QUESTIONS_DIR)
    if args.json:
        print_json({"entries": len(kb.entries), "problems": [p.to_json() for p in kb.problems]})
    elif kb.problems:
        for problem in kb.problems:
            print(problem, file=sys.stderr)
        print(f"{len(kb.problems)} problem(s) in {len(kb.entries)} valid entries.", file=sys.stderr)
    else:
        summary = kb.summary()
        console = stdout_console()
        console.print(f"[bold green]{len(kb.entries)} entries[/], no problems. "
                      f"{len(kb.demos)} demos.")
        console.print("By difficulty: " + ", ".join(
            f"{k} {v}" for k, v in sorted(summary["difficulty"].items())))
        console.print("By topic: " + ", ".join(
            f"{k} {v}" for k, v in sorted(summary["topics"].items())))
    return EXIT_BAD_INPUT if kb.problems else EXIT_OK


# --- index ---------------------------------------------------------------------------------------


def cmd_index_build(args) -> int:
    rt = make_runtime(progress=True)
    index = rt.rebuild_index()
    rt.memory  # noqa: B018 (the labelled answers' vectors too: the first grade need not wait)
    meta = index.meta
    if args.json:
        from dataclasses import asdict

        print_json(asdict(meta) | {"path": str(rt.settings.index_dir)})
    else:
        print(f"Index built: {meta.rows} rows, {meta.kind}, model {meta.model}, "
              f"{meta.build_seconds:.1f}s -> {rt.settings.index_dir}")
    return EXIT_OK


# --- demos ---------------------------------------------------------------------------------------


def cmd_demo_list(args) -> int:
    from knowledge.loader import load_demos

    demos, _ = load_demos()
    if args.json:
        print_json([{"name": d.name, "title": d.title, "question_ids": d.question_ids}
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
        print_json(run.to_json())
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
            report = evaluation.eval_asag(args.file, baseline=args.baseline, runtime_factory=make_runtime)
        elif args.kind == "grading":
            report = evaluation.eval_grading(args.file, baseline=args.baseline,
                                             runtime_factory=make_runtime, calibrate=args.calibrate,
                                             save=args.save, leave_writer_out=args.leave_writer_out)
        else:
            report = evaluation.eval_retrieval(args.file, baseline=args.baseline,
                                               runtime_factory=make_runtime)
    except evaluation.EvalInputError as exc:
        raise BadInput(str(exc)) from exc
    if args.json:
        print_json(report)
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
        print_json(summary)
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
            print_json(report)
        else:
            print(format_capacity(report))
        return EXIT_OK
    report = run_bench(burst=args.burst, repeats=args.repeats)
    if args.json:
        print_json(report)
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
    from bot.domain.errors import StorageError
    from bot.storage.database import Database, database_label, storage_error

    url = get_settings().resolved_database_url
    label = database_label(url)

    async def upgrade() -> str | None:
        database = await Database.open(url)  # migrates; failures are one-line StorageErrors
        await database.close()
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
        print_json({"database": label, "revision": revision, "head": head})
    else:
        print(f"{label} is at revision {revision}" + (" (head)" if revision == head else ""))
    return EXIT_OK


def cmd_health(args) -> int:
    from bot.app import health
    from bot.app.settings import get_settings

    checks = health.run_checks(get_settings())
    code = health.exit_code(checks)
    if args.json:
        print_json({"ok": code == 0, "exit_code": code,
                     "checks": [check.to_json() for check in checks]})
    else:
        print(health.format_checks(checks))
    return code


