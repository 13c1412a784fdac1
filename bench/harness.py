"""What every benchmark sets up and tears down, so each script keeps only what it measures.

A private setup is a temp dir, a redis-server of its own on a spare port, a fresh database (a SQLite
file in the temp dir or a throwaway PostgreSQL 15 cluster), Django configured with ``bench.settings``
and ``celery -A project worker`` process groups: ``private_setup`` starts it all for a ``with`` block,
and scripts that need a step in between use its pieces. Everything is registered on an ``ExitStack``,
so it is stopped at the end, also on Ctrl-C, SIGTERM and errors. In-process benchmarks use
``setup_in_process`` instead: a temp dir and a database, no services.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

REPO_DIR = Path(__file__).resolve().parent.parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")
SETTINGS = "bench.settings"


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    """Poll ``check`` until it returns true (errors count as not yet); fail early if ``proc`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():
                return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} before it was ready")
        time.sleep(0.05)
    raise RuntimeError(f"{what} was not ready after {timeout:.0f}s")


def stop_group(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
    """Signal a process group we started (``start_new_session``), then SIGKILL it if it lingers."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # pool children may outlive their parent by a moment
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


class RedisServer:
    """A redis-server without persistence on a spare port, which a benchmark can kill and start again."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with (self.workdir / "redis.log").open("ab") as log:
            self.proc = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", str(self.workdir)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        import redis

        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        try:
            wait_for("redis-server", client.ping, proc=self.proc)
        finally:
            client.close()

    def restart(self) -> None:
        """SIGKILL and start again on the same port: everything it held is lost."""
        if self.proc is not None:
            stop_group(self.proc, signal.SIGKILL)
        self.start()

    def stop(self) -> None:
        if self.proc is not None:
            stop_group(self.proc)


def _as_postgres(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the ``postgres`` user then."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def start_postgres(stack: contextlib.ExitStack) -> str:
    """A throwaway PostgreSQL cluster on a spare port with an empty database ``bench``; returns its URL."""
    if not (PG_BIN / "initdb").exists():
        raise SystemExit(f"--database postgres needs PostgreSQL binaries in {PG_BIN}")
    pgdir = Path(tempfile.mkdtemp(prefix="df-bench-pg-"))
    stack.callback(shutil.rmtree, pgdir, True)
    if os.geteuid() == 0:
        shutil.chown(pgdir, "postgres", "postgres")
    data = pgdir / "data"
    port = free_port()
    quiet: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "check": True}
    subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                                 "-E", "UTF8", "--no-sync"]), **quiet)  # fmt: skip
    options = f"-p {port} -k {pgdir} -c listen_addresses=127.0.0.1 -c max_connections=200"
    subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(pgdir / "log"),
                                 "-w", "start"]), **quiet)  # fmt: skip
    stack.callback(
        subprocess.run,
        _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    subprocess.run([str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "bench"], **quiet)
    return f"postgres://postgres@127.0.0.1:{port}/bench"


class Worker:
    """One ``celery -A project worker`` process group."""

    def __init__(self, index: int, env: dict[str, str], concurrency: int, loglevel: str, workdir: Path) -> None:
        self.name = f"bench{index}@{socket.gethostname()}"
        self.log_path = workdir / f"worker{index}.log"
        self.command = [
            sys.executable, "-m", "celery", "-A", "project", "worker",
            "-P", "prefork", "-c", str(concurrency), "-n", self.name,
            "--without-heartbeat", "--without-gossip", "--without-mingle",
            "-l", loglevel,
        ]  # fmt: skip
        self.env = env
        self.proc: subprocess.Popen | None = None

    def start(self) -> Worker:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.command, cwd=REPO_DIR, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_group(self.proc)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


def wait_workers_ready(workers: list[Worker], timeout: float = 90.0) -> None:
    """Ready = answers a broadcast ping (works at any log level)."""
    from project.celery import app

    pending = {w.name for w in workers}
    deadline = time.monotonic() + timeout
    while pending:
        for worker in workers:
            if worker.proc is not None and worker.proc.poll() is not None:
                raise RuntimeError(f"worker {worker.name} exited early:\n{worker.log_tail()}")
        for reply in app.control.ping(destination=sorted(pending), timeout=0.5) or []:
            pending -= set(reply)
        if time.monotonic() > deadline:
            raise RuntimeError(f"workers {sorted(pending)} not ready after {timeout:.0f}s")


def start_workers(
    stack: contextlib.ExitStack, env: dict[str, str], count: int, concurrency: int, loglevel: str, workdir: Path
) -> list[Worker]:
    """Start ``count`` worker process groups, stopped when ``stack`` closes; return once all answer a ping."""
    workers = [Worker(i, env, concurrency, loglevel, workdir) for i in range(count)]
    for worker in workers:
        stack.callback(worker.stop)
        worker.start()
    wait_workers_ready(workers)
    return workers


# --------------------------------------------------------------------------- a private setup


def add_setup_arguments(parser: argparse.ArgumentParser, workers: int) -> None:
    """The options of a private setup: worker process groups, their children and log level, the database, --keep."""
    parser.add_argument("--workers", type=int, default=workers, help=f"worker process groups (default {workers})")
    parser.add_argument("--concurrency", type=int, default=2, help="prefork children per worker (default 2)")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--loglevel", default="warning", help="worker log level (default warning)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (worker logs, database) after the run")


@dataclass(frozen=True)
class Services:
    """What a private setup runs: its temp dir, its redis-server, and its fresh database."""

    workdir: Path
    redis: RedisServer
    database: str
    database_url: str

    @property
    def broker(self) -> str:
        return self.redis.url


def start_services(
    stack: contextlib.ExitStack,
    prefix: str,
    database: str = "sqlite",
    sqlite_name: str = "bench.sqlite3",
    keep: bool = False,
) -> Services:
    """A temp dir (removed at the end unless ``keep``), a redis-server, and a SQLite file or PostgreSQL cluster."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    if keep:
        stack.callback(print, f"kept {workdir} (worker logs, database)")
    else:
        stack.callback(shutil.rmtree, workdir, True)
    redis = RedisServer(workdir)
    stack.callback(redis.stop)
    redis.start()
    database_url = start_postgres(stack) if database == "postgres" else f"sqlite:///{workdir / sqlite_name}"
    return Services(workdir, redis, database, database_url)


def migrate(env: Mapping[str, str] | None = None) -> None:
    """``manage.py migrate`` in a subprocess, as a deployment would run it."""
    command = [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"]
    subprocess.run(command, cwd=REPO_DIR, env=env, check=True)


def setup_django(services: Services, announce: bool = True, **environ: str) -> dict[str, str]:
    """Point this process at ``services`` (plus ``environ``), migrate, ``django.setup()``; returns the workers' env."""
    (services.workdir / "var").mkdir()
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            "DATABASE_URL": services.database_url,
            "CELERY_BROKER_URL": services.broker,
            "DJANGO_VAR_DIR": str(services.workdir / "var"),
            "DJANGO_DEBUG": "0",
            "DURABLEFLOWS_LOG_LEVEL": os.environ.get("DURABLEFLOWS_LOG_LEVEL", "WARNING"),
            **environ,
        }
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_DIR), os.environ.get("PYTHONPATH")]))}
    if announce:
        print(f"migrating a fresh {services.database} database ...", flush=True)
    migrate(env)
    import django

    django.setup()
    return env


@dataclass(frozen=True)
class PrivateSetup:
    """A whole private setup, ready: its services, the workers' environment, and the running workers."""

    services: Services
    env: dict[str, str]
    workers: list[Worker]


@contextlib.contextmanager
def private_setup(
    args: argparse.Namespace, prefix: str, sqlite_name: str = "bench.sqlite3", count_published: bool = False
) -> Iterator[PrivateSetup]:
    """Everything ``add_setup_arguments`` asks for, started for the block and stopped after it.

    ``count_published`` sets ``BENCH_COUNT_URL`` (the private Redis's database 1) for this process and
    the workers, so ``bench.benchapp.counting`` counts every message they publish.
    """
    stop_on_signals()
    with contextlib.ExitStack() as stack:
        services = start_services(stack, prefix, args.database, sqlite_name, keep=args.keep)
        environ = {"BENCH_COUNT_URL": services.broker.rsplit("/", 1)[0] + "/1"} if count_published else {}
        env = setup_django(services, **environ)
        print(f"starting {args.workers} worker(s) x prefork -c {args.concurrency} ...", flush=True)
        workers = start_workers(stack, env, args.workers, args.concurrency, args.loglevel, services.workdir)
        yield PrivateSetup(services, env, workers)


def setup_in_process(prefix: str, sqlite_name: str, database_url: str | None, settings: str, **environ: str) -> Path:
    """A temp dir, and Django set up in this process on ``database_url`` or a fresh SQLite file in that dir."""
    scratch = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{scratch / sqlite_name}"
    os.environ["DJANGO_VAR_DIR"] = str(scratch)
    os.environ["DJANGO_SETTINGS_MODULE"] = settings
    os.environ.update(environ)
    import django

    django.setup()
    return scratch


# --------------------------------------------------------------------------- measuring and reporting


def pct(values: list[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank); NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000


def p95_ms(times: list[float]) -> float:
    return sorted(times)[max(0, int(len(times) * 0.95) - 1)] * 1000


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine(load_start: str) -> str:
    """The cores and the load average at start and now: the machine's share in a figure."""
    return f"{os.cpu_count()} cores, load average at start {load_start}, at end {loadavg()}"


def durableflows_settings(shown: Callable[[str], bool]) -> str:
    """The ``DURABLEFLOWS`` values in force whose names ``shown`` accepts, as ``NAME=value, ...``."""
    from durableflows.conf import DEFAULTS, df_settings

    return ", ".join(f"{k}={getattr(df_settings, k)}" for k in DEFAULTS if shown(k))


# --------------------------------------------------------------------------- running a script


def _raise_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def stop_on_signals() -> None:
    """SIGTERM and SIGINT unwind the ``ExitStack`` (also when started in the background)."""
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def run_script(main: Callable[[], int]) -> NoReturn:
    """Exit with ``main()``'s code; on Ctrl-C, say so (the ``ExitStack`` has stopped everything by then)."""
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted; everything started by the benchmark was stopped", file=sys.stderr)
        sys.exit(130)
