"""Run a command (the test suite) with a PostgreSQL server for the storage tests.

    python tests/with_postgres.py [--] COMMAND [ARGS...]

`make test` runs pytest through this. It probes the server tests/postgres.py would use
(GRADCHECK_TEST_PG_URL, else 127.0.0.1:5432/test as user postgres, else root). When one answers,
the command runs against it. When none does, it starts a throwaway server — initdb into a
temporary folder, trust auth, loopback only, fsync off — runs the command against it, then
stops it and deletes the folder. The server binaries come from, in this order:

1. an installed PostgreSQL: GRADCHECK_PG_BINDIR, `initdb` on PATH, /usr/lib/postgresql/*/bin
   (Debian, Ubuntu), /usr/pgsql-*/bin (RHEL);
2. the PyPI package pgserver (PostgreSQL 16, the major version docker-compose.yml deploys),
   installed without dependencies into .venv/pgserver the first time;
3. as root with apt-get (CI): Debian's postgresql package.

GRADCHECK_PG_SOURCES narrows that list (comma-separated, of `installed,pypi,apt`).

PostgreSQL refuses to run as root, so as root the server runs as user `nobody`. The command gets
GRADCHECK_TEST_PG_URL (the server) and GRADCHECK_TEST_PG_REQUIRED=1 (a storage test that finds no
server fails instead of skipping). When no server can be had: with CI set this exits 1 before
running anything; elsewhere it says why on stderr and runs the command, whose PostgreSQL tests
then skip. The exit code is the command's.
"""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy.engine import URL, make_url  # noqa: E402

from tests.postgres import (  # noqa: E402
    REQUIRED_ENV,
    URL_ENV,
    candidate_urls,
    describe,
    pg_connect,
)

PYPI_PACKAGE = "pgserver==0.1.4"  # PostgreSQL 16.2 server binaries in a wheel (no dependencies used)
PYPI_TARGET = ROOT / ".venv" / "pgserver"
RUN_AS = "nobody"  # who runs the server when we are root
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def say(message: str) -> None:
    print(f"with_postgres: {message}", file=sys.stderr, flush=True)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


# --- probing ----------------------------------------------------------------------------------


async def _answers(url: str) -> bool:
    try:
        conn = await pg_connect(url)
    except Exception:  # noqa: BLE001 - any failure means "not this one"
        return False
    await conn.close()
    return True


def answering_url() -> str | None:
    for url in candidate_urls():
        if asyncio.run(_answers(url)):
            return url
    return None


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.settimeout(1)
        return s.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- finding the server binaries --------------------------------------------------------------


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path)) or (0,)


def _bindir_ok(bindir: Path) -> bool:
    return all((bindir / name).is_file() and os.access(bindir / name, os.X_OK)
               for name in ("initdb", "pg_ctl", "postgres"))


def installed_bindir() -> Path | None:
    configured = os.environ.get("GRADCHECK_PG_BINDIR")
    candidates: list[Path] = [Path(configured)] if configured else []
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for pattern in ("/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin"):
        candidates += [Path(p) for p in sorted(glob.glob(pattern), key=_version_key, reverse=True)]
    return next((c for c in candidates if _bindir_ok(c)), None)


def pypi_bindir() -> Path | None:
    bindir = PYPI_TARGET / "pgserver" / "pginstall" / "bin"
    if _bindir_ok(bindir):
        return bindir
    say(f"installing {PYPI_PACKAGE} (a PostgreSQL server in a wheel) into {PYPI_TARGET}")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--upgrade", "--target", str(PYPI_TARGET), PYPI_PACKAGE],
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        say(f"pip could not install {PYPI_PACKAGE}: {_last_line(done.stderr)}")
        return None
    return bindir if _bindir_ok(bindir) else None


def apt_bindir() -> Path | None:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    say("installing Debian's postgresql package")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for args in (["apt-get", "update", "-qq"],
                 ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "postgresql"]):
        done = subprocess.run(args, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            say(f"{' '.join(args[:2])} failed: {_last_line(done.stderr)}")
            return None
    return installed_bindir()


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no message)"


SOURCES = {"installed": installed_bindir, "pypi": pypi_bindir, "apt": apt_bindir}


# --- the throwaway server ---------------------------------------------------------------------


class Server:
    """initdb + pg_ctl in a temporary folder; `stop()` removes everything."""

    def __init__(self, bindir: Path, url: URL):
        self.bindir = bindir
        self.url = url
        self.dir = Path(tempfile.mkdtemp(prefix="gradcheck-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.user: pwd.struct_passwd | None = None
        self.started = False
        try:
            self._prepare()
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise

    def _prepare(self) -> None:
        if os.geteuid() == 0:
            self.user = pwd.getpwnam(RUN_AS)
            os.chmod(self.dir, 0o755)
            self.data.mkdir(mode=0o700)
            os.chown(self.data, self.user.pw_uid, self.user.pw_gid)
            self.sockets = self.dir / "sockets"
            self.sockets.mkdir()
            os.chown(self.sockets, self.user.pw_uid, self.user.pw_gid)
            self.log.touch()
            os.chown(self.log, self.user.pw_uid, self.user.pw_gid)
            self.bindir = self._reachable_bindir()
        else:
            self.sockets = self.dir

    def _reachable_bindir(self) -> Path:
        """The binaries as the server's user can run them: copied into our folder when they sit
        somewhere that user cannot enter (a repository under /root, say)."""
        try:
            if self._run([str(self.bindir / "initdb"), "--version"], check=False).returncode == 0:
                return self.bindir
        except OSError:
            pass
        # A wheel's binaries find their libraries relative to the installed tree: copy it whole.
        tree = self.bindir
        while tree.parent != tree and tree.name != "pgserver":
            tree = tree.parent
        source = tree.parent if tree.name == "pgserver" else self.bindir.parent
        copy = self.dir / "install"
        shutil.copytree(source, copy, symlinks=True)
        return copy / self.bindir.relative_to(source)

    def _run(self, args: list[str], check: bool = True, **kwargs) -> subprocess.CompletedProcess:
        if self.user is not None:
            kwargs.update(user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[])
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C", HOME=str(self.dir))
        done = subprocess.run(args, cwd=self.dir, env=env, capture_output=True, text=True,
                              **kwargs)
        if check and done.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed: {_last_line(done.stderr or done.stdout)}")
        return done

    def start(self) -> None:
        user, port = self.url.username or "postgres", self.url.port or 5432
        self._run([str(self.bindir / "initdb"), "-D", str(self.data), "-U", user, "-A", "trust",
                   "-E", "UTF8", "--no-sync", "--no-instructions"])
        options = (f"-p {port} -k {self.sockets} -c listen_addresses={self.url.host} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        # Its own session: Ctrl-C on the terminal reaches the tests, and we stop the server.
        self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                   "-o", options, "-w", "-t", "60", "start"], start_new_session=True)
        self.started = True
        asyncio.run(self._create_database())

    async def _create_database(self) -> None:
        name = self.url.database or "test"
        admin_url = self.url.set(database="postgres").render_as_string(hide_password=False)
        for _ in range(50):
            try:
                conn = await pg_connect(admin_url)
                break
            except OSError:
                await asyncio.sleep(0.2)
        else:
            raise RuntimeError("the server started but accepts no connection")
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        try:
            if self.started:
                self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                           "-w", "stop"], check=False)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def start_server() -> tuple[Server | None, str]:
    """A throwaway server at the configured (or a free) loopback port: (server, why not)."""
    configured = os.environ.get(URL_ENV, "").strip()
    if configured:
        url = make_url(candidate_urls()[0])
        if url.host not in LOCAL_HOSTS:
            return None, f"{URL_ENV} names {url.host}, not this machine: cannot start one there"
        if port_in_use(url.host, url.port or 5432):
            return None, (f"something listens on {url.host}:{url.port or 5432} but does not "
                          f"accept {describe()}")
        if url.host == "localhost":
            url = url.set(host="127.0.0.1")
    else:
        url = make_url(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/test")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(RUN_AS)
        except KeyError:
            return None, f"running as root and there is no user {RUN_AS!r} to run PostgreSQL as"
    reasons = []
    wanted = os.environ.get("GRADCHECK_PG_SOURCES", ",".join(SOURCES)).replace(" ", "")
    for name in filter(None, wanted.split(",")):
        if name not in SOURCES:
            return None, f"GRADCHECK_PG_SOURCES: unknown source {name!r} (use {', '.join(SOURCES)})"
        bindir = SOURCES[name]()
        if bindir is None:
            continue
        server = None
        try:
            server = Server(bindir, url)
            server.start()
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            reasons.append(f"{bindir}: {exc}")
            if server is not None:
                tail = server.log_tail()
                server.stop()
                if tail:
                    say(f"server log:\n{tail}")
            continue
        say(f"started a throwaway PostgreSQL ({bindir}) at {describe((str(url),))}")
        return server, ""
    return None, "; ".join(reasons) or f"no PostgreSQL binaries found (tried: {wanted or 'none'})"


# --- main -------------------------------------------------------------------------------------


def run(command: list[str], env: dict[str, str]) -> int:
    child = subprocess.Popen(command, env=env)

    def forward(signum, _frame):
        child.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGHUP)}
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the terminal sends it to the child too
    try:
        return child.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        signal.signal(signal.SIGINT, signal.default_int_handler)


def main(argv: list[str]) -> int:
    command = argv[1:] if argv[:1] == ["--"] else argv
    if not command:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    env = dict(os.environ)
    url = answering_url()
    server = None
    if url is None:
        started = time.monotonic()
        server, why = start_server()
        if server is None:
            message = f"no PostgreSQL at {describe()} and none could be started: {why}"
            if in_ci():
                say(message + " (CI: the PostgreSQL tests must run, so this fails)")
                return 1
            say(message + "; the PostgreSQL tests will skip")
        else:
            url = server.url.render_as_string(hide_password=False)
            say(f"ready in {time.monotonic() - started:.1f}s")
    if url is not None:
        env[URL_ENV] = url
        env[REQUIRED_ENV] = "1"
    try:
        return run(command, env)
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
