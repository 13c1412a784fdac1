"""The DBOS contender: the same 3-step workflow as a DBOS workflow, run by worker processes fed by a DBOS Queue.

``bench/run.py --database postgres`` uses it when ``dbos`` is installed (``bench/requirements.txt``).
A worker process is ``python -m bench.dbos_contender <system database URL> <queue poll seconds>``:
it launches DBOS with the workflow registered and executes what the bench client enqueues with
``DBOSClient.enqueue``, the DBOS setup closest to "a client submits, a worker executes".
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

QUEUE = "bench"
WORKFLOW = "bench.dbos_three_steps"
APP_VERSION = "bench"  # the client enqueues for this version, the workers run it
OPEN = ("ENQUEUED", "PENDING", "DELAYED")


def available() -> bool:
    try:
        import dbos  # noqa: F401
    except ImportError:
        return False
    return True


def serve(url: str, poll: float, name: str) -> None:
    """Launch DBOS in this process, register the workflow and the queue, then work until SIGTERM."""
    from dbos import DBOS

    @DBOS.step(name="bench.dbos_add_one_a")
    def add_one_a(value: int) -> int:
        return value + 1

    @DBOS.step(name="bench.dbos_add_one_b")
    def add_one_b(value: int) -> int:
        return value + 1

    @DBOS.step(name="bench.dbos_add_one_c")
    def add_one_c(value: int) -> int:
        return value + 1

    @DBOS.workflow(name=WORKFLOW)
    def three_steps(value: int) -> int:
        return add_one_c(add_one_b(add_one_a(value)))

    DBOS(
        config={
            "name": "df-bench",
            "system_database_url": url,
            "application_version": APP_VERSION,
            "executor_id": name,
            "log_level": "WARNING",
        }
    )
    DBOS.launch()
    DBOS.register_queue(QUEUE, polling_interval_sec=poll)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready", flush=True)
    stop.wait()
    DBOS.destroy()


class DBOSWorker:
    """One DBOS worker process (its own session, so it can be paused and stopped as a group)."""

    def __init__(self, index: int, url: str, poll: float, env: dict[str, str], workdir: Path, cwd: Path) -> None:
        self.log_path = workdir / f"dbos{index}.log"
        self.command = [sys.executable, "-m", "bench.dbos_contender", url, str(poll), f"dbos{index}"]
        self.env, self.cwd = env, cwd
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self.command, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + timeout
        while "ready" not in self.log_path.read_text(errors="replace").splitlines():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"DBOS worker not ready:\n{self.log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.05)

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)


class DBOSContender:
    """Enqueue the DBOS workflow from this (client) process and see when its result is durable.

    Finished means what it means for the other contenders: the workflow's status row committed
    as SUCCESS with its output, read by one fixed SELECT by primary key at the same poll interval.
    Outside DBOS's turns its workers are paused (SIGSTOP), so their queue polling does not load
    the database while the other contenders are measured.
    """

    def __init__(self, url: str, workers: list[DBOSWorker]) -> None:
        import psycopg
        from dbos import DBOSClient
        from dbos._serialization import WorkflowSerializationFormat

        self.client = DBOSClient(system_database_url=url)
        self.options: Any = {
            "queue_name": QUEUE,
            "workflow_name": WORKFLOW,
            "app_version": APP_VERSION,
            "serialization_type": WorkflowSerializationFormat.PORTABLE,  # JSON in and out, nothing pickled
        }
        self.conn = psycopg.connect(url, autocommit=True)
        # DBOS keeps a workflow's output in workflow_output (older rows: in workflow_status), as DBOS reads it
        self.done_sql = (
            "SELECT s.status, COALESCE(o.output, s.output) FROM dbos.workflow_status s"
            " LEFT JOIN dbos.workflow_output o ON o.workflow_uuid = s.workflow_uuid WHERE s.workflow_uuid = %s"
        )
        self.workers = workers

    def pause(self) -> None:
        for worker in self.workers:
            worker.signal(signal.SIGSTOP)

    def resume(self) -> None:
        for worker in self.workers:
            worker.signal(signal.SIGCONT)

    def start(self, value: int) -> str:
        return self.client.enqueue(self.options, value).get_workflow_id()

    def result(self, value: int) -> Any:
        """The public API: enqueue, then ``handle.get_result()`` polling every 2 ms (its default is 1 s)."""
        return self.client.enqueue(self.options, value).get_result(polling_interval_sec=0.002)

    def done(self, workflow_id: str) -> tuple[bool, Any]:
        row = self.conn.execute(self.done_sql, [workflow_id]).fetchone()
        if row is None or row[0] in OPEN:
            return False, None
        if row[0] != "SUCCESS":
            raise RuntimeError(f"DBOS workflow {workflow_id} ended {row[0]}")
        return True, json.loads(row[1])

    def any_open(self) -> bool:
        sql = "SELECT EXISTS (SELECT 1 FROM dbos.workflow_status WHERE status = ANY(%s))"
        return bool(self.conn.execute(sql, [list(OPEN)]).fetchone()[0])

    def finished_at(self, ids: set[str]) -> dict[str, float]:
        """Each workflow's completion time (``updated_at`` of its SUCCESS row, epoch ms) in seconds."""
        rows = self.conn.execute("SELECT workflow_uuid, status, updated_at FROM dbos.workflow_status").fetchall()
        out = {}
        for workflow_id, status, updated_at in rows:
            if workflow_id in ids:
                if status != "SUCCESS":
                    raise RuntimeError(f"DBOS workflow {workflow_id} ended {status}")
                out[workflow_id] = updated_at / 1000
        return out

    def close(self) -> None:
        self.conn.close()
        self.client.destroy()


if __name__ == "__main__":
    serve(sys.argv[1], float(sys.argv[2]), sys.argv[3])
