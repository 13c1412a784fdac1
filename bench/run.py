#!/usr/bin/env python
"""Benchmark: a 3-activity durableflows workflow vs a plain Celery chain of 3 tasks, same broker, same workers.

    python bench/run.py [--n 1000] [--sequential 100] [--workers 1] [--concurrency 2] [--database sqlite|postgres]

Everything is private to one run: a fresh database (a SQLite file in a temp dir,
or a throwaway PostgreSQL 15 cluster), its own redis-server on a spare port and
its own ``celery -A project worker -P prefork`` process groups started with
``bench.settings``. Both contenders share that Redis and those workers, and are
measured in the same run:

1. sequential latency: start one, wait until it has finished, repeat (the two
   contenders alternate, so drift hits both alike);
2. burst throughput: submit N as fast as one client can, then wait until all N
   have finished.

See bench/README.md for what "finished" means on each side and why it is fair.
Everything started here is stopped at the end, also on Ctrl-C and on errors.
"""
from __future__ import annotations

import argparse
import contextlib
import cProfile
import importlib.metadata
import io
import json
import os
import pstats
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402

#: Targets since 2026-11-30, durability at the price of a plain chain (the first ones, met 2026-11-22: 0.6x, 2x).
TARGET_BURST = 1.0
TARGET_SEQUENTIAL = 1.3
RESULT_KEY = "celery-task-meta-"  # where Celery's Redis result backend stores a task's result


# --------------------------------------------------------------------------- measuring


def summary(values_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values_s]
    mean = statistics.fmean(ms) if ms else float("nan")
    return {"p50": harness.pct(ms, 50), "p95": harness.pct(ms, 95), "mean": mean}


def _utc_ts(value: Any) -> float:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


class Contenders:
    """How to start one of each contender, and how to see that it has finished.

    Finished means the same on both sides: the final result is stored where any
    client can read it. For a workflow that is its WorkflowRun row committed as
    COMPLETED (durableflows' own durable result); for a chain it is the last
    task's result stored in the Redis result backend (only the last task stores
    one). Both are read by polling that store with the same interval, so the
    wait mechanism does not favour either side. ``handle.result()`` and
    ``AsyncResult.get()`` are measured separately as the public-API figures.
    """

    def __init__(self, broker_url: str) -> None:
        import redis
        from celery import chain

        import durableflows as df
        from bench.benchapp import tasks, workflows
        from durableflows.models import WorkflowRun
        from durableflows.status import Status

        self.df = df
        self.chain = chain
        self.tasks = tasks
        self.workflow = workflows.three_steps
        self.workflow_name = "bench.three_steps"
        self.WorkflowRun = WorkflowRun
        self.open_statuses = (Status.PENDING, Status.RUNNING)
        self.completed = Status.COMPLETED
        meta = WorkflowRun._meta
        self.done_sql = (
            f"SELECT status, result FROM {meta.db_table} WHERE {meta.pk.column} = %s"
        )
        self.redis = redis.Redis.from_url(broker_url)

    # -- workflow
    def start_workflow(self, value: int) -> str:
        # The handle already knows its run id; the public ``handle.run_id`` property would re-read the
        # run from the database (one more SELECT per start that a caller does not need here).
        return str(self.df.start(self.workflow, value)._run_id)

    def workflow_done(self, run_id: Any) -> tuple[bool, Any]:
        # One fixed SELECT by primary key through a cursor: as cheap a read of its store as the chain's
        # Redis GET (building the query with the ORM would cost this client ~0.7 ms of CPU per poll).
        from django.db import connection

        key = self.WorkflowRun._meta.pk.get_db_prep_value(uuid.UUID(run_id), connection)
        with connection.cursor() as cursor:
            cursor.execute(self.done_sql, [key])
            row = cursor.fetchone()
        if row is None or row[0] in self.open_statuses:
            return False, None
        if row[0] != self.completed:
            raise RuntimeError(f"workflow run {run_id} ended {row[0]}")
        return True, json.loads(row[1]) if isinstance(row[1], str) else row[1]

    # -- chain
    def start_chain(self, value: int) -> str:
        t = self.tasks
        return self.chain(t.t1.s(value), t.t2.s(), t.t3.s()).apply_async().id

    def chain_done(self, task_id: str) -> tuple[bool, Any]:
        raw = self.redis.get(RESULT_KEY + task_id)
        if raw is None:
            return False, None
        meta = json.loads(raw)
        if meta["status"] != "SUCCESS":
            raise RuntimeError(f"chain {task_id} ended {meta['status']}: {meta.get('result')}")
        return True, meta["result"]


def wait_one(done: Callable[[Any], tuple[bool, Any]], key: Any, poll: float, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        finished, value = done(key)
        if finished:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{key} did not finish within {timeout}s")
        time.sleep(poll)


def sequential(
    c: Contenders, count: int, poll: float, public_api: bool = False, dbos: Any = None
) -> dict[str, list[float]]:
    """Alternate: one workflow start-to-finished, one chain start-to-finished (one DBOS workflow), ``count`` times."""
    lat: dict[str, list[float]] = {"workflow": [], "chain": [], "dbos": []}
    for i in range(count):
        t0 = time.perf_counter()
        if public_api:
            value = c.df.start(c.workflow, i).result(timeout=60)
        else:
            value = wait_one(c.workflow_done, c.start_workflow(i), poll)
        lat["workflow"].append(time.perf_counter() - t0)
        assert value == i + 3, value
        t0 = time.perf_counter()
        if public_api:
            t = c.tasks
            value = c.chain(t.t1.s(i), t.t2.s(), t.t3.s()).apply_async().get(timeout=60)
        else:
            value = wait_one(c.chain_done, c.start_chain(i), poll)
        lat["chain"].append(time.perf_counter() - t0)
        assert value == i + 3, value
        if dbos is not None:
            dbos.resume()
            t0 = time.perf_counter()
            value = dbos.result(i) if public_api else wait_one(dbos.done, dbos.start(i), poll)
            lat["dbos"].append(time.perf_counter() - t0)
            dbos.pause()
            assert value == i + 3, value
    return lat


def burst_workflows(c: Contenders, n: int, poll: float, timeout: float) -> dict[str, Any]:
    submitted: dict[Any, float] = {}
    first = time.time()
    for i in range(n):
        t = time.time()
        submitted[c.start_workflow(i)] = t
    submit_s = time.time() - first
    # The database is private to this run and the warm-up has finished, so "no open run of this workflow"
    # means all done (bench/sleepers.py adds open runs of another). One indexed read per poll keeps the
    # client's share of the 2 cores negligible.
    deadline = time.monotonic() + timeout
    while c.WorkflowRun.objects.filter(status__in=c.open_statuses, workflow_name=c.workflow_name).exists():
        if time.monotonic() > deadline:
            raise TimeoutError("workflow burst did not finish")
        time.sleep(poll)
    all_done = time.time()
    since = datetime.fromtimestamp(first - 1, tz=UTC)  # avoids an IN list of N ids
    rows = c.WorkflowRun.objects.filter(created_at__gte=since).values_list("run_id", "status", "closed_at")
    latencies = []
    for run_id, status, closed_at in rows.iterator(chunk_size=2000):
        run_id = str(run_id)
        if run_id not in submitted:
            continue
        if status != c.completed:
            raise RuntimeError(f"workflow run {run_id} ended {status}")
        latencies.append(_utc_ts(closed_at) - submitted[run_id])
    if len(latencies) != n:
        raise RuntimeError(f"found {len(latencies)} of {n} workflow runs")
    return {"elapsed": all_done - first, "submit": submit_s, "latencies": latencies}


def burst_chains(c: Contenders, n: int, poll: float, timeout: float) -> dict[str, Any]:
    submitted: dict[str, float] = {}
    first = time.time()
    for i in range(n):
        t = time.time()
        submitted[c.start_chain(i)] = t
    submit_s = time.time() - first
    pending = list(submitted)
    done_at: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while pending:
        if time.monotonic() > deadline:
            raise TimeoutError("chain burst did not finish")
        still = []
        for start in range(0, len(pending), 500):
            ids = pending[start : start + 500]
            for task_id, raw in zip(ids, c.redis.mget([RESULT_KEY + i for i in ids]), strict=True):
                if raw is None:
                    still.append(task_id)
                    continue
                meta = json.loads(raw)
                if meta["status"] != "SUCCESS":
                    raise RuntimeError(f"chain {task_id} ended {meta['status']}")
                done_at[task_id] = _utc_ts(meta["date_done"])
        pending = still
        if pending:
            time.sleep(poll)
    all_done = time.time()
    latencies = [done_at[k] - submitted[k] for k in submitted]
    return {"elapsed": all_done - first, "submit": submit_s, "latencies": latencies}


def burst_dbos(dbos: Any, n: int, poll: float, timeout: float) -> dict[str, Any]:
    """The DBOS workflows' burst, measured like the others; its workers run only during it."""
    dbos.resume()
    submitted: dict[str, float] = {}
    first = time.time()
    for i in range(n):
        t = time.time()
        submitted[dbos.start(i)] = t
    submit_s = time.time() - first
    deadline = time.monotonic() + timeout
    while dbos.any_open():
        if time.monotonic() > deadline:
            raise TimeoutError("DBOS burst did not finish")
        time.sleep(poll)
    all_done = time.time()
    dbos.pause()
    done_at = dbos.finished_at(set(submitted))
    if len(done_at) != n:
        raise RuntimeError(f"found {len(done_at)} of {n} DBOS workflows")
    latencies = [done_at[k] - submitted[k] for k in submitted]
    return {"elapsed": all_done - first, "submit": submit_s, "latencies": latencies}


def start_dbos(stack: contextlib.ExitStack, args: argparse.Namespace, database_url: str, env: dict[str, str],
               workdir: Path) -> Any:  # fmt: skip
    """DBOS workers on a database of their own in the bench's PostgreSQL cluster, paused until their turn."""
    from bench import dbos_contender

    url = "postgresql://" + database_url.split("://", 1)[1].rsplit("/", 1)[0] + "/dbos_bench"
    workers = [dbos_contender.DBOSWorker(i, url, args.dbos_queue_poll, env, workdir, harness.REPO_DIR)
               for i in range(args.dbos_workers or args.workers * args.concurrency)]  # fmt: skip
    for worker in workers:
        stack.callback(_stop_dbos_worker, worker)
        worker.start()  # one after the other: the first one creates and migrates the system database
    contender = dbos_contender.DBOSContender(url, workers)
    stack.callback(contender.close)
    contender.pause()
    return contender


def _stop_dbos_worker(worker: Any) -> None:
    if worker.proc is not None:
        worker.signal(signal.SIGCONT)  # a stopped process would not act on SIGTERM
        harness.stop_group(worker.proc)


# --------------------------------------------------------------------------- profiling (in-process, no workers)


def profile_in_process(count: int) -> None:
    """Count the SQL of one workflow, then cProfile ``count`` workflows run by calling the task in this process.

    Runs before the workers start (so nothing else touches the database); the
    doorbells it sends go to the private Redis, which is flushed afterwards.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    import durableflows as df
    from bench.benchapp.workflows import three_steps
    from durableflows.tasks import workflow_task

    def kinds(queries: list[dict[str, str]]) -> str:
        counter = Counter(q["sql"].split(None, 1)[0].upper() for q in queries)
        return ", ".join(f"{k} {v}" for k, v in counter.most_common())

    # warm: first calls pay for imports and query compilation
    workflow_task(df.start(three_steps, 0).run_id)
    with CaptureQueriesContext(connection) as start_q:
        handle = df.start(three_steps, 0)
    run_id = str(handle._run_id)  # not handle.run_id: that property re-reads the run
    with CaptureQueriesContext(connection) as task_q:
        workflow_task(run_id)
    assert handle.result(timeout=5) == 3
    print("\nSQL per workflow (in-process, inline + eager: the whole workflow runs in one workflow_task call)")
    print(f"  df.start():          {len(start_q.captured_queries):3d} statements ({kinds(start_q.captured_queries)})")
    print(f"  workflow_task(run):  {len(task_q.captured_queries):3d} statements ({kinds(task_q.captured_queries)})")
    for q in task_q.captured_queries:
        print(f"    {q['time']:>6}s  {q['sql'][:150]}")

    t0 = time.perf_counter()
    started = [str(df.start(three_steps, i)._run_id) for i in range(count)]
    alone = (time.perf_counter() - t0) / count * 1000
    for run_id in started:
        workflow_task(run_id)
    print(f"\nin-process, no profiler: {alone:.2f} ms per df.start() alone")
    t0 = time.perf_counter()
    for i in range(count):
        workflow_task(str(df.start(three_steps, i)._run_id))
    plain = (time.perf_counter() - t0) / count * 1000
    print(f"in-process, no profiler: {plain:.2f} ms per workflow (df.start + workflow_task, one thread)")

    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    for i in range(count):
        workflow_task(str(df.start(three_steps, i)._run_id))
    profiler.disable()
    elapsed = time.perf_counter() - t0
    each = elapsed / count * 1000
    print(f"cProfile: {count} workflows started and run in this process in {elapsed:.2f}s = {each:.2f} ms each")
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(22)
        text = out.getvalue()
        print(f"\n-- top by {order} --")
        print(text[text.find("   ncalls") :].rstrip())


@contextlib.contextmanager
def py_spy(binary: str | None, workers: list[harness.Worker], out: Path) -> Iterator[None]:
    """Sample every worker process group (parent and pool children, incl. idle threads) while the block runs."""
    if not binary:
        yield
        return
    procs = []
    for i, worker in enumerate(workers):
        cmd = [binary, "record", "--pid", str(worker.proc.pid), "--subprocesses", "--idle", "--nonblocking",
               "--rate", "200", "--format", "raw", "-o", f"{out}.{i}.txt"]  # fmt: skip
        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(0.5)
    try:
        yield
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=30)
        summarize_py_spy(sorted(out.parent.glob(f"{out.name}.*.txt")))


def summarize_py_spy(paths: list[Path]) -> None:
    """Where the pool children spend their samples: inclusive shares of a few telling frames, and leaf frames."""
    stacks: Counter[str] = Counter()
    for path in paths:
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if "execute_using_pool" in stack or "trace_task" in stack or "fast_trace_task" in stack:
                stacks[stack] += int(count)  # pool children only; the parent mostly waits on sockets
            elif "process_task" in stack or "_worker_loop" in stack or "workloop" in stack:
                stacks[stack] += int(count)
    total = sum(stacks.values())
    if not total:
        print("py-spy: no samples of pool children")
        return
    markers = {
        "in a Celery task (busy)": "trace_task",
        "  durableflows.workflow_task / activity_task": "durableflows/tasks.py",
        "    process_workflow_task": "process_workflow_task",
        "    activities.execute (claim + run + settle)": "activities.py:",
        "      WorkflowExecution (user code, replay)": "runtime/execution.py",
        "    Django ORM: building/compiling SQL": "compiler.py",
        "    DB driver execute (incl. SQLite lock waits)": "backends/utils.py",
        "    transaction commit": "commit (",
        "    Celery publish (doorbells, chain links)": "send_task",
        "  bench.t1/t2/t3": "bench/benchapp/tasks.py",
    }
    print(f"\npy-spy: {total} samples of the pool children (200/s each, idle included)")
    for label, needle in markers.items():
        share = sum(c for s, c in stacks.items() if needle in s) / total * 100
        print(f"  {label:<48} {share:5.1f}%")
    leaves: Counter[str] = Counter()
    for stack, count in stacks.items():
        leaves[stack.rsplit(";", 1)[-1]] += count
    print("  top leaf frames:")
    for frame, count in leaves.most_common(8):
        print(f"    {count / total * 100:5.1f}%  {frame[:100]}")


# --------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=1000, help="items per burst (default 1000)")
    p.add_argument("--sequential", type=int, default=100, help="sequential iterations per contender (default 100)")
    p.add_argument("--rounds", type=int, default=1, help="burst rounds; contender order alternates (default 1)")
    p.add_argument("--warmup", type=int, default=100, help="warm-up burst size per contender (default 100)")
    p.add_argument("--poll", type=float, default=0.001, help="poll interval while waiting for one item (s)")
    p.add_argument("--burst-poll", type=float, default=0.02, help="poll interval while waiting for a burst (s)")
    p.add_argument("--profile", type=int, default=0, metavar="K",
                   help="also count SQL per workflow and cProfile K workflows in-process (before the workers start)")
    p.add_argument("--py-spy", metavar="BIN", nargs="?", const="py-spy", default=None,
                   help="sample the workers with py-spy (BIN, default: py-spy on PATH) during each burst and summarize")
    p.add_argument("--profile-only", action="store_true", help="stop after --profile (no workers, no contest)")
    p.add_argument("--no-dbos", action="store_true", help="leave out the DBOS contender (PostgreSQL only)")
    p.add_argument("--dbos-workers", type=int, default=0,
                   help="DBOS worker processes (default: as many as Celery pool children, workers x concurrency)")
    p.add_argument("--dbos-queue-poll", type=float, default=0.001,
                   help="polling interval of the DBOS queue in its workers (s, default 0.001 like --poll)")
    harness.add_setup_arguments(p, workers=1)
    return p.parse_args()


def print_table(args: argparse.Namespace, env_info: dict[str, str], seq: dict[str, Any], api: dict[str, Any],
                bursts: list[dict[str, Any]], dbos_note: str = "") -> None:  # fmt: skip
    wf_seq, ch_seq, db_seq = summary(seq["workflow"]), summary(seq["chain"]), summary(seq["dbos"])
    wf_api, ch_api, db_api = summary(api["workflow"]), summary(api["chain"]), summary(api["dbos"])
    wf_b = [b["workflow"] for b in bursts]
    ch_b = [b["chain"] for b in bursts]
    db_b = [b["dbos"] for b in bursts if "dbos" in b]

    def rate(items: list[dict[str, Any]]) -> float:
        return statistics.fmean(args.n / b["elapsed"] for b in items)

    def lat(items: list[dict[str, Any]]) -> dict[str, float]:
        return summary([x for b in items for x in b["latencies"]])

    def submit(items: list[dict[str, Any]]) -> float:
        return statistics.fmean(args.n / b["submit"] for b in items)

    wf_lat, ch_lat = lat(wf_b), lat(ch_b)
    db_lat = lat(db_b) if db_b else summary([])
    nan = float("nan")
    rows = [
        ("sequential p50 (ms)", wf_seq["p50"], ch_seq["p50"], db_seq["p50"]),
        ("sequential p95 (ms)", wf_seq["p95"], ch_seq["p95"], db_seq["p95"]),
        ("sequential mean (ms)", wf_seq["mean"], ch_seq["mean"], db_seq["mean"]),
        ("  via handle.result() / AsyncResult.get(): p50 (ms)", wf_api["p50"], ch_api["p50"], db_api["p50"]),
        ("  via handle.result() / AsyncResult.get(): mean (ms)", wf_api["mean"], ch_api["mean"], db_api["mean"]),
        (f"burst of {args.n}: throughput (/s)", rate(wf_b), rate(ch_b), rate(db_b) if db_b else nan),
        (f"burst of {args.n}: latency p50 (ms)", wf_lat["p50"], ch_lat["p50"], db_lat["p50"]),
        (f"burst of {args.n}: latency p95 (ms)", wf_lat["p95"], ch_lat["p95"], db_lat["p95"]),
        (f"burst of {args.n}: submit rate (/s, one client)", submit(wf_b), submit(ch_b),
         submit(db_b) if db_b else nan),
    ]  # fmt: skip
    print()
    for key, value in env_info.items():
        print(f"{key:<22} {value}")
    print()
    header = f"{'':<54}{'durableflows':>14}{'celery chain':>14}{'df/chain':>10}"
    if db_b:
        header += f"{'DBOS':>12}{'df/DBOS':>10}"
    print(header)
    print("-" * len(header))
    for label, wf, ch, db in rows:
        line = f"{label:<54}{wf:>14.2f}{ch:>14.2f}{wf / ch:>10.2f}"
        if db_b:
            line += f"{db:>12.2f}{wf / db:>10.2f}"
        print(line)
    if args.rounds > 1:
        for i, b in enumerate(bursts, 1):
            print(f"  round {i}: workflows {args.n / b['workflow']['elapsed']:.1f}/s, "
                  f"chains {args.n / b['chain']['elapsed']:.1f}/s")  # fmt: skip
    tput_ratio = rate(wf_b) / rate(ch_b)
    seq_ratio = wf_seq["mean"] / ch_seq["mean"]
    p50_ratio = wf_seq["p50"] / ch_seq["p50"]
    print()
    print(f"burst throughput  durableflows/chain = {tput_ratio:.2f}x  (target >= {TARGET_BURST:.2f}x: "
          f"{'met' if tput_ratio >= TARGET_BURST else 'MISSED'})")  # fmt: skip
    print(f"sequential mean   durableflows/chain = {seq_ratio:.2f}x  (target <= {TARGET_SEQUENTIAL:.2f}x: "
          f"{'met' if seq_ratio <= TARGET_SEQUENTIAL else 'MISSED'}); p50 ratio {p50_ratio:.2f}x")  # fmt: skip
    if db_b:
        print(f"burst throughput  durableflows/DBOS  = {rate(wf_b) / rate(db_b):.2f}x  (higher is better)")
        print(f"sequential mean   durableflows/DBOS  = {wf_seq['mean'] / db_seq['mean']:.2f}x  (lower is better); "
              f"p50 ratio {wf_seq['p50'] / db_seq['p50']:.2f}x")  # fmt: skip
    elif args.database == "postgres":
        print(f"DBOS: not measured ({dbos_note})")


def main() -> int:
    args = parse_args()
    harness.stop_on_signals()
    load_start = harness.loadavg()
    if float(load_start.split()[0]) > 0.5:
        print(f"warning: load average {load_start} before starting: other processes compete for the CPUs", flush=True)
    with contextlib.ExitStack() as stack:
        services = harness.start_services(stack, "df-bench-", args.database, keep=args.keep)
        workdir, broker, database_url = services.workdir, services.broker, services.database_url
        env = harness.setup_django(services)
        from django.conf import settings
        from django.db import connection

        if args.profile:
            profile_in_process(args.profile)
            import redis

            redis.Redis.from_url(broker).flushdb()  # the doorbells the profiling sent
            if args.profile_only:
                return 0

        print(f"starting {args.workers} worker(s) x prefork -c {args.concurrency} ...", flush=True)
        workers = harness.start_workers(stack, env, args.workers, args.concurrency, args.loglevel, workdir)
        connection.close()  # the bench's own connection is opened again on first use

        from bench import dbos_contender

        dbos, dbos_note = None, ""
        if args.database != "postgres":
            pass
        elif args.no_dbos:
            dbos_note = "--no-dbos"
        elif not dbos_contender.available():
            dbos_note = "dbos is not installed: pip install -r bench/requirements.txt"
        else:
            print("starting DBOS workers ...", flush=True)
            dbos = start_dbos(stack, args, database_url, env, workdir)
        if dbos_note:
            print(f"DBOS: left out ({dbos_note})", flush=True)

        c = Contenders(broker)
        print("warming up ...", flush=True)
        sequential(c, 20, args.poll, dbos=dbos)
        burst_chains(c, args.warmup, args.burst_poll, 300)
        burst_workflows(c, args.warmup, args.burst_poll, 300)
        if dbos is not None:
            burst_dbos(dbos, args.warmup, args.burst_poll, 300)

        print(f"sequential: {args.sequential} of each, alternating ...", flush=True)
        seq = sequential(c, args.sequential, args.poll, dbos=dbos)
        api = sequential(c, max(10, args.sequential // 2), args.poll, public_api=True, dbos=dbos)
        bursts = []
        for r in range(args.rounds):
            print(f"burst round {r + 1}/{args.rounds}: {args.n} of each ...", flush=True)
            order = ["chain", "workflow"] if r % 2 == 0 else ["workflow", "chain"]
            if dbos is not None:
                order = [*order, "dbos"] if r % 2 == 0 else ["dbos", *order]
            result = {}
            for who in order:
                if who == "dbos":
                    result[who] = burst_dbos(dbos, args.n, args.burst_poll, max(300, args.n))
                    time.sleep(1.0)
                    continue
                run = burst_chains if who == "chain" else burst_workflows
                with py_spy(args.py_spy, workers, workdir / f"py-spy-{who}-{r}"):
                    result[who] = run(c, args.n, args.burst_poll, max(300, args.n))
                time.sleep(1.0)  # let the last acks and housekeeping settle before the next contender
            bursts.append(result)

        db = settings.DATABASES["default"]
        engine = db["ENGINE"].rsplit(".", 1)[-1]
        if engine == "sqlite3":
            engine += f" (file; {db.get('OPTIONS', {}).get('init_command', '')})"
        env_info = {
            "machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, load average at start {load_start}, "
            f"at end {harness.loadavg()}",
            "workers": f"{args.workers} x celery worker -P prefork -c {args.concurrency} (shared by both contenders)",
            "broker": f"redis-server (private, --save '' --appendonly no), prefetch multiplier "
            f"{settings.CELERY_WORKER_PREFETCH_MULTIPLIER}",
            "database": f"{engine}, CONN_MAX_AGE {db.get('CONN_MAX_AGE')}, "
            f"CELERY_DB_REUSE_MAX {getattr(settings, 'CELERY_DB_REUSE_MAX', None)}",
            "DURABLEFLOWS": harness.durableflows_settings(lambda k: k != "MAX_PAYLOAD_BYTES"),
            "sequential": f"{args.sequential} of each (poll {args.poll * 1000:g} ms); public API {len(api['chain'])}",
            "burst": f"{args.n} of each x {args.rounds} round(s) (done-poll {args.burst_poll * 1000:g} ms)",
        }
        if dbos is not None:
            env_info["DBOS"] = (
                f"dbos {importlib.metadata.version('dbos')}, {len(dbos.workers)} worker process(es) fed by "
                f"a DBOS Queue (polled every {args.dbos_queue_poll * 1000:g} ms), system database 'dbos_bench' "
                "in the same cluster, paused (SIGSTOP) outside its turns"
            )
        print_table(args, env_info, seq, api, bursts, dbos_note)
        connection.close()
    return 0


if __name__ == "__main__":
    harness.run_script(main)
