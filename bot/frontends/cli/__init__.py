"""The `gradcheck` console script.

Contract (DESIGN.md): `--json` prints only JSON on stdout, logs go to stderr; exit 0 on success,
2 on bad input with a one-line reason on stderr; batch modes read JSON Lines from a file or `-`
and write one JSON object per input line, in input order.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from pathlib import Path

from bot.frontends.cli.answers import cmd_ask, cmd_grade
from bot.frontends.cli.commands import (
    cmd_bench,
    cmd_chat,
    cmd_db_upgrade,
    cmd_demo_list,
    cmd_demo_run,
    cmd_discord,
    cmd_eval,
    cmd_health,
    cmd_index_build,
    cmd_kb_validate,
    cmd_train,
)
from bot.frontends.cli.common import EXIT_BAD_INPUT, EXIT_FAIL, EXIT_OK, BadInput


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
            p.add_argument("--leave-writer-out", action="store_true",
                           help="the labelled-answer memory leaves out answers by each row's own writer")
        p.set_defaults(func=cmd_eval, calibrate=False, save=None, leave_writer_out=False)

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

