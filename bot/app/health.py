"""`gradcheck health`: can this process serve? Four checks, in the order a start-up needs them.

    database     reachable (SELECT 1)                                    exit 3
    migrations   alembic current == head (checked, never applied here)   exit 4
    index        saved index loads and is fresh for knowledge + model    exit 5
    model        the embedding model loads and encodes a sentence        exit 6

Every check runs (migrations only when the database answered) so one run shows everything that is
wrong; the exit code names the first failure in the order above, 0 when all pass. Nothing is
created or changed: a missing SQLite file is reported, not made, and a stale index is not rebuilt.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from bot.app.settings import Settings

EXIT_CODES = {"database": 3, "migrations": 4, "index": 5, "model": 6}
DB_TIMEOUT_S = 10.0


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    seconds: float = 0.0

    def to_json(self) -> dict:
        return asdict(self) | {"seconds": round(self.seconds, 3)}


def _scripts():
    from alembic.script import ScriptDirectory

    from bot.storage.database import alembic_config

    # The URL is not used: revisions come from the migration scripts shipped with this code.
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def head_revision() -> str:
    return _scripts().get_current_head()


async def current_revision(url: str, **engine_kwargs: Any) -> str | None:
    """The database's alembic revision; None for an empty database. Raises on connection errors."""
    from alembic.migration import MigrationContext
    from sqlalchemy.pool import NullPool

    from bot.storage.database import create_engine

    engine = create_engine(url, poolclass=NullPool, **engine_kwargs)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    finally:
        await engine.dispose()


async def _database_checks(url: str, engine_kwargs: dict) -> list[Check]:
    from sqlalchemy import text
    from sqlalchemy.pool import NullPool

    from bot.storage.database import create_engine, database_label, sqlite_path, storage_error

    label = database_label(url)
    path = sqlite_path(url)
    start = time.perf_counter()
    if path is not None and not path.exists():
        # Connecting would create the file; an absent database is simply not migrated yet.
        return [
            Check("database", True, f"{label} does not exist yet (created on first start)"),
            Check("migrations", False, "no schema yet: run gradcheck db upgrade"),
        ]
    engine = create_engine(url, poolclass=NullPool, **engine_kwargs)
    try:
        async with asyncio.timeout(DB_TIMEOUT_S), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        if isinstance(exc, TimeoutError):
            detail = f"{label} cannot be reached (no answer in {DB_TIMEOUT_S:.0f} s)"
        else:
            detail = str(storage_error(label, exc))
        return [Check("database", False, detail, time.perf_counter() - start),
                Check("migrations", False, "not checked: the database did not answer")]
    finally:
        await engine.dispose()
    checks = [Check("database", True, f"{label} answers", time.perf_counter() - start)]

    start = time.perf_counter()
    try:
        current, head = await current_revision(url, **engine_kwargs), head_revision()
    except Exception as exc:
        checks.append(Check("migrations", False, str(storage_error("the revision", exc)),
                            time.perf_counter() - start))
        return checks
    if current == head:
        detail, ok = f"at head {head}", True
    elif current is None:
        detail, ok = f"no schema yet (head is {head}): run gradcheck db upgrade", False
    elif current not in {r.revision for r in _scripts().walk_revisions()}:
        detail, ok = f"at {current}, newer than this gradcheck (head {head}): upgrade it", False
    else:
        detail, ok = f"at {current}, head is {head}: run gradcheck db upgrade", False
    checks.append(Check("migrations", ok, detail, time.perf_counter() - start))
    return checks


def check_index(settings: Settings, kb=None) -> Check:
    from index.store import VectorIndex
    from knowledge.loader import load_valid_knowledge

    start = time.perf_counter()
    directory = settings.index_dir
    if not (directory / "meta.json").exists():
        return Check("index", False, f"no index in {directory}: run gradcheck index build")
    try:
        index = VectorIndex.load(directory)
        reason = index.stale_reason(kb or load_valid_knowledge(), settings.model,
                                    settings.index_kind)
    except Exception as exc:
        return Check("index", False, f"{directory} cannot be used: {type(exc).__name__}: {exc}",
                     time.perf_counter() - start)
    seconds = time.perf_counter() - start
    if reason:
        return Check("index", False, f"stale ({reason}): run gradcheck index build", seconds)
    return Check("index", True, f"{index.count()} rows, fresh ({directory})", seconds)


def check_model(settings: Settings, load: Callable[[str], Any] | None = None) -> Check:
    import numpy as np

    # The weight-loading progress bar would land in every health run's output (container logs).
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    start = time.perf_counter()
    try:
        if load is None:
            from index.embedder import get_embedder

            load = get_embedder
        vectors = load(settings.model).encode(["Why clip gradients?"])
        if vectors.shape[0] != 1 or not np.all(np.isfinite(vectors)):
            raise ValueError(f"unexpected output of shape {vectors.shape}")
    except Exception as exc:
        return Check("model", False, f"{settings.model} does not load: {type(exc).__name__}: {exc}",
                     time.perf_counter() - start)
    detail = f"{settings.model} encodes ({vectors.shape[1]} dimensions)"
    try:  # the grading cross-encoder, on the configured backend
        from bot.grading.judge import MODEL_DIR, get_judge

        judge = get_judge(settings.backend, cache_dir=settings.onnx_dir,
                          model_dir=settings.judge_model or MODEL_DIR, int8=settings.judge_int8)
        probs = judge.probabilities([("Clipping bounds the gradient norm.", "We clip gradients.")])
        if probs.shape != (1, 3) or not np.all(np.isfinite(probs)):
            raise ValueError(f"unexpected output of shape {probs.shape}")
    except Exception as exc:
        return Check("model", False, f"the grading model does not load: {type(exc).__name__}: {exc}",
                     time.perf_counter() - start)
    return Check("model", True, f"{detail}; grading model judges ({settings.backend})",
                 time.perf_counter() - start)


def run_checks(settings: Settings, *, url: str | None = None,
               engine_kwargs: dict | None = None, kb=None, load_model=None) -> list[Check]:
    """All four checks. `url`/`engine_kwargs` override the settings' database (tests: a schema)."""
    url = url or settings.resolved_database_url
    checks = asyncio.run(_database_checks(url, engine_kwargs or {}))
    checks.append(check_index(settings, kb))
    checks.append(check_model(settings, load_model))
    return checks


def exit_code(checks: list[Check]) -> int:
    failed = {c.name for c in checks if not c.ok}
    return next((code for name, code in EXIT_CODES.items() if name in failed), 0)


def format_checks(checks: list[Check]) -> str:
    return "\n".join(
        f"{'ok  ' if c.ok else 'FAIL'}  {c.name:10}  {c.detail}  ({c.seconds * 1000:.0f} ms)"
        for c in checks
    )
