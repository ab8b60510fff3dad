"""Deployment pieces: the compose file (validated by docker-compose, no Docker engine needed), the
Dockerfile (static checks: no engine here to build it), .env.example, structured logs, the
metrics registry and endpoint, and the capacity measurement."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

from bot.app import metrics
from bot.app.logging_setup import JsonFormatter, configure_logging
from bot.app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = shutil.which("docker-compose")
NO_COMPOSE = ("docker-compose is not installed and `make test` could not install it "
              "(apt-get install docker-compose failed): the compose file was not validated")


# --- docker-compose.yml -----------------------------------------------------------------------


def compose_config(tmp_path: Path, env: str | None) -> subprocess.CompletedProcess:
    """`docker-compose config` on a copy of the project's compose file, with `env` as its .env
    (a real .env holds secrets and is never in the repository)."""
    if COMPOSE is None:
        pytest.skip(NO_COMPOSE)
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    for name in ("docker-compose.yml", "Dockerfile"):
        shutil.copy(ROOT / name, project / name)
    if env is not None:
        (project / ".env").write_text(env)
    clean = {k: v for k, v in os.environ.items()
             if k not in ("POSTGRES_PASSWORD", "DISCORD_TOKEN") and not k.startswith("GRADCHECK_")}
    return subprocess.run([COMPOSE, "-f", "docker-compose.yml", "config"], cwd=project, env=clean,
                          capture_output=True, text=True, timeout=120)


def filled_env_example() -> str:
    text = (ROOT / ".env.example").read_text()
    text = re.sub(r"(?m)^DISCORD_TOKEN=$", "DISCORD_TOKEN=test-token", text)
    return re.sub(r"(?m)^POSTGRES_PASSWORD=$", "POSTGRES_PASSWORD=pw-123_abc", text)


def test_compose_file_is_valid_and_production_shaped(tmp_path):
    done = compose_config(tmp_path, filled_env_example())
    assert done.returncode == 0, done.stderr
    config = yaml.safe_load(done.stdout)
    services = config["services"]
    assert set(services) == {"bot", "postgres"}
    bot, db = services["bot"], services["postgres"]

    assert db["image"] == "postgres:16-alpine"
    assert bot["build"]["context"].endswith("project")
    for service in (bot, db):
        assert service["restart"] == "unless-stopped"
        assert service["healthcheck"]["test"]
    assert bot["healthcheck"]["test"] == ["CMD", "gradcheck", "health"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert bot["depends_on"] == {"postgres": {"condition": "service_healthy"}}

    # Named volume for the database; nothing else persists.
    assert "pgdata" in config["volumes"]
    assert any(v.startswith("pgdata:/var/lib/postgresql/data") for v in db["volumes"])

    # Secrets come from .env, not from the compose file; the URL is built from them.
    env = bot["environment"]
    assert env["DISCORD_TOKEN"] == "test-token"
    assert env["GRADCHECK_DATABASE_URL"] == (
        "postgresql+asyncpg://gradcheck:pw-123_abc@postgres:5432/gradcheck")
    compose_text = (ROOT / "docker-compose.yml").read_text()
    assert "pw-123_abc" not in compose_text and "DISCORD_TOKEN:" not in compose_text

    # Every published port only on loopback.
    published = [p for s in services.values() for p in s.get("ports", [])]
    assert published, "expected the metrics port to be published"
    for port in published:
        host_ip = port.get("host_ip") if isinstance(port, dict) else port.split(":")[0]
        assert host_ip == "127.0.0.1", port


def test_compose_refuses_to_start_without_a_database_password(tmp_path):
    done = compose_config(tmp_path, "DISCORD_TOKEN=x\n")
    assert done.returncode != 0
    assert "POSTGRES_PASSWORD" in done.stderr


# --- Dockerfile and .dockerignore (static: no Docker engine here) -------------------------------


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), " ".join(rest.split())))
    return out


def test_dockerfile_has_the_required_pieces():
    steps = instructions(ROOT / "Dockerfile")
    kinds = [k for k, _ in steps]
    assert steps[0] == ("FROM", "python:3.11-slim")
    assert kinds.count("FROM") == 1

    runs = [args for k, args in steps if k == "RUN"]
    torch = next(i for i, r in enumerate(runs) if "torch==2.13.0" in r)
    assert "--index-url https://download.pytorch.org/whl/cpu" in runs[torch]
    project = next(i for i, r in enumerate(runs) if r.startswith("pip install ."))
    assert torch < project, "CPU torch must be installed before the project pulls a CUDA one"

    # A non-root user runs everything from the index build on, and the container.
    users = [(i, args) for i, (k, args) in enumerate(steps) if k == "USER"]
    assert users and users[-1][1] not in ("root", "0", "0:0")
    build = next(i for i, (k, a) in enumerate(steps) if k == "RUN" and "gradcheck index build" in a)
    assert users[-1][0] < build
    env = " ".join(a for k, a in steps if k == "ENV")
    assert "GRADCHECK_DATA_DIR=/opt/gradcheck/data" in env and "HF_HUB_OFFLINE=1" in env
    assert not any(k == "VOLUME" for k in kinds), "a volume would hide the built index"

    [healthcheck] = [a for k, a in steps if k == "HEALTHCHECK"]
    assert healthcheck.endswith('CMD ["gradcheck", "health"]')
    assert steps[-1] == ("CMD", '["gradcheck", "discord"]')


def test_dockerignore_keeps_secrets_and_local_state_out():
    patterns = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines()
                if p.strip() and not p.startswith("#")]
    for needed in (".env", ".venv", ".git", "tests"):
        assert needed in patterns
    for package in ("bot", "index", "knowledge", "README.md", "pyproject.toml"):
        assert package not in patterns  # `index` is a package here, not a data folder


def test_env_example_documents_every_setting():
    text = (ROOT / ".env.example").read_text()
    for name in Settings.model_fields:
        env_name = "DISCORD_TOKEN" if name == "discord_token" else f"GRADCHECK_{name.upper()}"
        assert re.search(rf"(?m)^#? ?{env_name}=", text), f"{env_name} missing from .env.example"
    assert re.search(r"(?m)^POSTGRES_PASSWORD=$", text)  # a blank to fill, never a real one


def test_settings_for_operations(monkeypatch):
    for key in ("GRADCHECK_METRICS_PORT", "GRADCHECK_LOG_FORMAT"):
        monkeypatch.delenv(key, raising=False)
    assert (Settings().metrics_port, Settings().log_format) == (None, "text")  # off by default
    monkeypatch.setenv("GRADCHECK_METRICS_PORT", "9108")
    monkeypatch.setenv("GRADCHECK_LOG_FORMAT", "json")
    assert (Settings().metrics_port, Settings().log_format) == (9108, "json")


# --- structured logs --------------------------------------------------------------------------


def test_json_formatter_one_object_per_line_with_extras():
    record = logging.LogRecord("gradcheck.discord", logging.WARNING, __file__, 1,
                               "graded %d answers", (3,), None)
    record.guild_id = "123"
    record.path = Path("/tmp/x")
    entry = json.loads(JsonFormatter().format(record))
    assert entry["level"] == "WARNING" and entry["logger"] == "gradcheck.discord"
    assert entry["msg"] == "graded 3 answers"
    assert entry["guild_id"] == "123" and entry["path"] == "/tmp/x"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", entry["ts"])

    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = JsonFormatter().format(record)
    assert "\n" not in line and "ValueError: boom" in json.loads(line)["exc"]


def test_configure_logging_installs_one_handler():
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    stream = io.StringIO()
    try:
        configure_logging("json", logging.INFO, stream=stream, force=True)
        configure_logging("json", logging.INFO, stream=stream, force=True)  # replaces, not adds
        logging.getLogger("gradcheck.test").info("hello", extra={"shard": 1})
        [line] = stream.getvalue().splitlines()
        assert json.loads(line) | {"ts": None} == {
            "ts": None, "level": "INFO", "logger": "gradcheck.test", "msg": "hello", "shard": 1}
    finally:
        root.handlers[:] = before[0]
        root.setLevel(before[1])


def test_cli_logs_json_when_the_setting_says_so(tmp_path):
    env = dict(os.environ, GRADCHECK_DATABASE_URL=f"sqlite:///{tmp_path / 'gc.sqlite3'}",
               GRADCHECK_LOG_FORMAT="json")
    gradcheck = Path(sys.executable).with_name("gradcheck")
    done = subprocess.run([str(gradcheck), "-v", "db", "upgrade"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines and all(json.loads(line)["level"] for line in lines)
    assert any("Running upgrade" in json.loads(line)["msg"] for line in lines)
    assert "is at revision" in done.stdout  # results stay on stdout, in plain text

    env.pop("GRADCHECK_LOG_FORMAT")
    done = subprocess.run([str(gradcheck), "--log-json", "-v", "db", "upgrade"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and all(json.loads(x) for x in done.stderr.strip().splitlines())


# --- metrics ----------------------------------------------------------------------------------


def test_registry_renders_prometheus_text():
    registry = metrics.Registry()
    answers = registry.counter("t_answers_total", "Answers.")
    latency = registry.histogram("t_latency_seconds", "Latency.", buckets=(0.1, 1.0))
    sessions = registry.gauge("t_sessions", "Sessions.")
    registry.gauge("t_rss_bytes", "Memory.", lambda: 1024.0)
    answers.inc(3)
    latency.observe(0.05, times=2)
    latency.observe(0.5)
    latency.observe(7.0)
    sessions.inc(2)
    sessions.dec()
    assert registry.render() == "\n".join([
        "# HELP t_answers_total Answers.", "# TYPE t_answers_total counter", "t_answers_total 3",
        "# HELP t_latency_seconds Latency.", "# TYPE t_latency_seconds histogram",
        't_latency_seconds_bucket{le="0.1"} 2', 't_latency_seconds_bucket{le="1"} 3',
        't_latency_seconds_bucket{le="+Inf"} 4', "t_latency_seconds_sum 7.6",
        "t_latency_seconds_count 4",
        "# HELP t_sessions Sessions.", "# TYPE t_sessions gauge", "t_sessions 1",
        "# HELP t_rss_bytes Memory.", "# TYPE t_rss_bytes gauge", "t_rss_bytes 1024",
    ]) + "\n"
    with pytest.raises(ValueError):
        answers.inc(-1)
    with pytest.raises(ValueError, match="already registered"):
        registry.counter("t_answers_total", "again")


def test_metrics_endpoint_serves_the_registry():
    server = metrics.start_server("127.0.0.1", 0)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=10) as r:
            body = r.read().decode()
            assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        for name in ("gradcheck_answers_graded_total", "gradcheck_grade_latency_seconds_bucket",
                     "gradcheck_active_sessions", "process_resident_memory_bytes"):
            assert name in body
        with pytest.raises(OSError):  # the port is taken: start() says so instead of hanging
            metrics.start_server("127.0.0.1", server.port)
    finally:
        server.stop()


async def test_grading_service_records_answers_and_latency(grading_service):
    answers0 = metrics.ANSWERS_GRADED.value
    batches0, count0 = metrics.GRADE_BATCHES.value, metrics.GRADE_LATENCY.count
    await asyncio.gather(*(grading_service.grade("8.3.65", f"Zero weights keep units equal {i}.")
                           for i in range(3)))
    assert metrics.ANSWERS_GRADED.value == answers0 + 3
    assert metrics.GRADE_LATENCY.count == count0 + 3
    assert 1 <= metrics.GRADE_BATCHES.value - batches0 <= 3
    assert metrics.GRADE_LATENCY.sum > 0


def test_discord_command_reports_a_taken_metrics_port(monkeypatch, capsys):
    from bot.app.settings import get_settings
    from bot.frontends.cli import main

    server = metrics.start_server("127.0.0.1", 0)
    try:
        monkeypatch.setenv("GRADCHECK_METRICS_PORT", str(server.port))
        get_settings.cache_clear()
        assert main(["discord"]) == 2
        err = capsys.readouterr().err
        assert "cannot serve metrics on 127.0.0.1:" in err and len(err.splitlines()) == 1
    finally:
        server.stop()
        get_settings.cache_clear()


# --- capacity ---------------------------------------------------------------------------------


def test_capacity_measures_the_real_path(runtime):
    from bot.app.capacity import measure_capacity

    report = measure_capacity(seconds=1.0, users=4, runtime=runtime)
    assert report["answers"] > 0 and report["answers_per_s"] > 0
    assert report["answers_per_s_per_core"] == pytest.approx(
        report["answers_per_s"] / report["cores"], abs=0.01)
    assert 0 < report["saturated_p50_ms"] <= report["saturated_p95_ms"]
    assert report["half_load_p50_ms"] > 0
    assert report["rss_mb"] > 100 and report["peak_rss_mb"] >= report["rss_mb"]
