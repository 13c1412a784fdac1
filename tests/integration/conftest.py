"""The integration harness: real ``celery -A project worker`` processes on the test database.

Workers run as separate process groups (prefork: a parent and its children), so a
test can SIGKILL a whole worker mid-activity and start a new one. They see the
same broker as the test process and the pytest-django *test* database, which is
why every test here uses ``@pytest.mark.django_db(transaction=True)``: rows must
be committed for another process to see them. A worker's log goes to a file in
the test's tmp dir and is printed when the test fails.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.conftest import redis_reachable
from tests.helpers import service_unavailable

REPO_DIR = Path(__file__).resolve().parents[2]
TEST_SETTINGS = "tests.settings"
READY_MARKER = "ready."
HOUSEKEEPING_INTERVAL = "0.2"
REDELIVERY_TIMEOUT = "2"


def worker_database_url() -> str:
    """A DATABASE_URL for the test database pytest-django created (not the project's own)."""
    from django.db import connection

    settings = connection.settings_dict
    name = str(settings["NAME"])
    if connection.vendor == "sqlite":
        if name == ":memory:" or "mode=memory" in name:
            pytest.fail("integration tests need a SQLite test database in a file, not in memory")
        return f"sqlite:///{Path(name).resolve()}"
    schemes = {"postgresql": "postgres", "mysql": "mysql"}
    if connection.vendor in schemes:
        user = quote(str(settings.get("USER") or ""), safe="")
        password = quote(str(settings.get("PASSWORD") or ""), safe="")
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = settings.get("HOST") or "localhost"
        port = f":{settings['PORT']}" if settings.get("PORT") else ""
        return f"{schemes[connection.vendor]}://{auth}{host}{port}/{quote(name, safe='')}"
    pytest.fail(f"the integration harness does not know how to point workers at a {connection.vendor} database")


def broker_url() -> str:
    from django.conf import settings

    return settings.CELERY_BROKER_URL


def purge_broker() -> None:
    """Drop every queued message, so doorbells from earlier tests cannot reach this test's workers."""
    from django.conf import settings

    url = broker_url()
    if url.startswith("filesystem://"):
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        for key in ("data_folder_in", "data_folder_out"):
            folder = Path(options.get(key, ""))
            if folder.is_dir():
                for message in folder.glob("*.msg"):
                    message.unlink(missing_ok=True)
        return
    if url.startswith(("redis://", "rediss://")):
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        try:
            doomed = [b"unacked", b"unacked_index", b"unacked_mutex"]
            for key in client.scan_iter(count=500):
                if client.type(key) in (b"list", "list"):  # kombu keeps each queue (and priority lane) as a list
                    doomed.append(key)
            client.delete(*doomed)
        finally:
            client.close()
        return
    from project.celery import app

    app.control.purge()


def check_broker() -> None:
    url = broker_url()
    if url.startswith(("redis://", "rediss://")):
        problem = redis_reachable(url)
        if problem:
            service_unavailable(problem)


class Worker:
    """One ``celery -A project worker`` process group with its log file."""

    def __init__(self, name: str, log_path: Path, env: dict[str, str], pool: str, concurrency: int) -> None:
        self.name = name
        self.log_path = log_path
        self.env = env
        self.pool = pool
        self.concurrency = concurrency
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "celery", "-A", "project", "worker",
            "-P", self.pool, "-c", str(self.concurrency),
            "-n", f"{self.name}@%h",
            "--without-heartbeat", "--without-gossip", "--without-mingle",
            "-l", "info",
        ]  # fmt: skip

    def start(self) -> Worker:
        log = self.log_path.open("ab")
        try:
            self.proc = subprocess.Popen(
                self.command,
                cwd=REPO_DIR,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killpg reaches the prefork children too
            )
        finally:
            log.close()
        return self

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 80) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, timeout: float = 60.0) -> Worker:
        """Block until the worker logs that it is ready; fail with its log if it dies or hangs."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if READY_MARKER in self.log():
                return self
            if not self.alive:
                code = self.proc.returncode if self.proc else None
                raise AssertionError(f"worker {self.name} exited with {code} before it was ready:\n{self.log_tail()}")
            time.sleep(0.05)
        raise AssertionError(f"worker {self.name} was not ready after {timeout:.0f}s:\n{self.log_tail()}")

    def kill(self, sig: int = signal.SIGKILL, timeout: float = 15.0) -> None:
        """Send ``sig`` to the whole process group (parent and pool children) and reap the parent.

        With SIGKILL this is a crash: nothing is acked, nothing is cleaned up.
        Other signals (SIGTERM: warm shutdown) may take a while; after ``timeout``
        the group is SIGKILLed.
        """
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._killpg(signal.SIGKILL)
            self.proc.wait(timeout=10)
        if sig == signal.SIGKILL:
            self._wait_group_gone()

    def _killpg(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def _wait_group_gone(self, timeout: float = 10.0) -> None:
        """Pool children die with the group, but may outlive the parent's reaping by a moment."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            self._killpg(signal.SIGKILL)
            time.sleep(0.02)


@pytest.fixture
def worker_env(transactional_db, tmp_path: Path) -> dict[str, str]:
    """The environment of worker processes: the test database, the same broker, fast housekeeping."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE=TEST_SETTINGS,
        DATABASE_URL=worker_database_url(),
        CELERY_BROKER_URL=broker_url(),
        DURABLEFLOWS_HOUSEKEEPING_INTERVAL=HOUSEKEEPING_INTERVAL,
        DURABLEFLOWS_REDELIVERY_TIMEOUT=REDELIVERY_TIMEOUT,
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_DIR), os.environ.get("PYTHONPATH", "")])),
        PYTHONUNBUFFERED="1",
    )
    env.pop("CELERY_BROKER_TRANSPORT_OPTIONS", None)
    return env


@pytest.fixture
def workers(request: pytest.FixtureRequest, worker_env: dict[str, str], tmp_path: Path) -> Iterator[WorkerFactory]:
    """A factory of worker processes: ``workers.start(concurrency=2, pool="prefork")``.

    Every worker still running at teardown is SIGKILLed (before pytest-django
    flushes the database); if the test failed, their logs are printed.
    """
    check_broker()
    purge_broker()
    factory = WorkerFactory(worker_env, tmp_path)
    try:
        yield factory
    finally:
        for worker in factory.started:
            if worker.alive:
                worker.kill(signal.SIGKILL)
        failed = any(getattr(getattr(request.node, f"rep_{when}", None), "failed", False) for when in ("setup", "call"))
        if failed:
            for worker in factory.started:
                print(f"\n===== log of worker {worker.name} ({worker.log_path}) =====\n{worker.log_tail(300)}")
        purge_broker()


class WorkerFactory:
    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.started: list[Worker] = []

    def start(self, concurrency: int = 2, pool: str = "prefork", wait: bool = True, timeout: float = 60.0) -> Worker:
        """Start a worker and (by default) wait until it is ready."""
        name = f"it{len(self.started) + 1}-{uuid.uuid4().hex[:6]}"
        worker = Worker(name, self.log_dir / f"worker-{name}.log", self.env, pool, concurrency)
        self.started.append(worker)
        worker.start()
        if wait:
            worker.wait_ready(timeout=timeout)
        return worker

    def logs(self) -> str:
        return "\n".join(f"===== {w.name} =====\n{w.log_tail()}" for w in self.started)


@pytest.fixture
def gate_dir(tmp_path: Path) -> Path:
    """A directory through which gated activities in worker processes and the test talk."""
    path = tmp_path / "gates"
    path.mkdir()
    return path
