"""Shared fixtures: real parts, built once per test session.

- `data_dir`: a temporary data dir for the whole session; GRADCHECK_DATA_DIR points at it (and
  GRADCHECK_DATABASE_URL is unset), so subprocesses (`gradcheck ...`) and get_settings() use it
  instead of the developer's own data.
- `settings`, `kb`, `runtime`, `grader`, `retriever`: the real knowledge base, the real model
  (loaded once per session) and a real FAISS index built once into `data_dir`.
- `sqlite_url`, `progress_store`, `grading_service`: a fresh SQLite file, a ProgressStore on it,
  a GradingService over the session's grader, per test.
- `subprocess_env`: os.environ for running `gradcheck` in a subprocess against the session's
  data dir (index ready) and a fresh SQLite file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("gradcheck-data")


@pytest.fixture(scope="session", autouse=True)
def _gradcheck_env(data_dir):
    from bot.app.settings import get_settings

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADCHECK_DATA_DIR", str(data_dir))
        mp.delenv("GRADCHECK_DATABASE_URL", raising=False)
        get_settings.cache_clear()
        yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def settings(data_dir):
    from bot.app.settings import Settings

    return Settings(data_dir=data_dir, database_url=None)


@pytest.fixture(scope="session")
def kb():
    from knowledge.loader import load_valid_knowledge

    return load_valid_knowledge()


@pytest.fixture(scope="session")
def runtime(request, settings, kb):
    from bot.app.runtime import Runtime

    rt = Runtime(settings)
    rt.__dict__["kb"] = kb  # one KnowledgeBase object for every fixture
    rt.__dict__["index"] = _index_for(request, kb, rt)
    return rt


@pytest.fixture
def subprocess_env(request, runtime, tmp_path):
    """Environment for running `gradcheck` in a subprocess: the session's data dir, whose index is
    made fresh for the knowledge files as they are now (authors may edit them mid-session, and
    a stale index would be rebuilt by the subprocess), and a fresh SQLite file."""
    from knowledge.loader import load_valid_knowledge

    _index_for(request, load_valid_knowledge(), runtime)
    runtime.memory  # noqa: B018 (the labelled answers' vectors, saved beside the index, built once)
    url = f"sqlite+aiosqlite:///{tmp_path / 'subprocess.sqlite3'}"
    return dict(os.environ, GRADCHECK_DATABASE_URL=url)


def _index_for(request, kb, rt):
    """The index for `kb`, kept in pytest's cache between runs and saved into the runtime's data
    dir so subprocesses (GRADCHECK_DATA_DIR) find it fresh."""
    from index.store import load_or_build

    cache = Path(request.config.cache.mkdir("gradcheck-index"))
    s = rt.settings
    index = load_or_build(kb, cache, rt.embedder.encode, s.model, s.index_kind,
                          encode_tokens=rt.embedder.encode_with_tokens)
    index.save(s.index_dir)
    return index


@pytest.fixture(scope="session")
def grader(runtime):
    return runtime.grader


@pytest.fixture(scope="session")
def retriever(runtime):
    return runtime.retriever


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite+aiosqlite:///{tmp_path / 'progress.sqlite3'}"


@pytest.fixture
async def progress_store(sqlite_url):
    from bot.storage.progress import ProgressStore

    store = await ProgressStore.open(sqlite_url)
    yield store
    await store.close()


@pytest.fixture
async def grading_service(grader, retriever):
    from bot.app.service import GradingService

    service = GradingService(grader, retriever)
    yield service
    await service.close()
