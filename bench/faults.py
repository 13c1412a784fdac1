#!/usr/bin/env python
"""Benchmark: N workflows through killed workers, Redis restarts and duplicate deliveries.

    python bench/faults.py [--n 1000] [--workers 2] [--concurrency 2] [--database sqlite|postgres]

The private setup of bench/harness.py, as for bench/run.py (own redis-server on a spare port, fresh database,
``celery -A project worker`` process groups). Each workflow (``bench.under_faults``)
runs an activity, sleeps on a durable timer, runs two activities in parallel, waits
for a signal and runs a last activity. While they run, as more of them complete:

- SIGKILL a worker's process group (twice, different workers);
- restart redis-server without persistence (twice): every queued and unacked message is gone;
- SIGSTOP a worker for 3 s, then SIGCONT it (its held messages and attempts go stale);
- send every open run's workflow doorbell again and every activity attempt's message again
  (duplicate deliveries), and signal every workflow once.

A supervisor loop restarts any worker that is not running (killed, or exited on its own after
losing Redis), as systemd or Kubernetes would. Then it waits until every run is closed and checks
every history: each run completed, and one fact per event (an activity scheduled, started and
completed once per activity id, a timer started and fired once, the signal received once).
Prints the drain (last fault to last run closed) and the total time.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402

#: (share of the workflows completed, fault); each fault happens once, in this order. The last comes
#: near the end, so that the drain after it measures healing rather than the remaining work.
SCHEDULE = [
    (0.0, "signal all"),
    (0.10, "kill worker 0"),
    (0.25, "restart redis"),
    (0.40, "stop worker 1"),
    (0.50, "duplicate deliveries"),
    (0.75, "restart redis"),
    (0.95, "kill worker 1"),
]
#: Seconds a stopped worker stays stopped (by time: the others may not progress meanwhile).
STOPPED_FOR = 3.0
#: Facts that must appear at most once per key in a history, and the data key that identifies them.
ONCE = {
    "ActivityScheduled": "activity_id",
    "ActivityStarted": "activity_id",
    "ActivityCompleted": "activity_id",
    "ActivityFailed": "activity_id",
    "ActivityTimedOut": "activity_id",
    "TimerStarted": "timer_id",
    "TimerFired": "timer_id",
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=900.0, help="give up after this many seconds")
    harness.add_setup_arguments(parser, workers=2)
    return parser.parse_args()


class Supervisor:
    """Restarts any worker that is not running, like a process supervisor with restart=always."""

    def __init__(self, workers: list[harness.Worker]) -> None:
        self.workers = workers
        self.restarts = 0
        self.unprompted_exits = 0
        self.killed: set[int] = set()

    def kill(self, index: int) -> None:
        worker = self.workers[index]
        if worker.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.proc.pid, signal.SIGCONT)  # a stopped group dies on SIGKILL anyway
            harness.stop_group(worker.proc, signal.SIGKILL)
        self.killed.add(index)

    def signal(self, index: int, sig: int) -> None:
        proc = self.workers[index].proc
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)

    def tend(self) -> None:
        for index, worker in enumerate(self.workers):
            if worker.proc is not None and worker.proc.poll() is None:
                continue
            if index in self.killed:
                self.killed.discard(index)
            else:
                self.unprompted_exits += 1
                print(f"  worker {index} exited on its own (code {worker.proc.returncode if worker.proc else None}):\n"
                      f"{worker.log_tail(8)}", flush=True)  # fmt: skip
            worker.start()
            self.restarts += 1


def duplicate_deliveries() -> int:
    """Send every open run's doorbell again, and every live or finished attempt's message again."""
    from durableflows.engine import doorbell
    from durableflows.models import ActivityTask, WorkflowRun
    from durableflows.status import OPEN_STATUSES

    sent = 0
    for run_id in WorkflowRun.objects.filter(status__in=OPEN_STATUSES).values_list("run_id", flat=True):
        doorbell.send(doorbell.WORKFLOW_TASK, [str(run_id)])
        sent += 1
    for pk, attempt in ActivityTask.objects.values_list("pk", "attempt"):
        doorbell.send(doorbell.ACTIVITY_TASK, [pk, attempt])
        sent += 1
    return sent


def signal_all(n: int) -> None:
    from django.db import transaction

    import durableflows as df

    for start in range(0, n, 100):
        with transaction.atomic():
            for i in range(start, min(n, start + 100)):
                df.get_handle(f"fault-{i}").signal("go", {"add": 1})


def check_histories(n: int) -> tuple[Counter, list[str]]:
    """Every run completed with the right result, and no fact recorded twice."""
    from durableflows.models import HistoryEvent, WorkflowRun

    statuses = Counter(WorkflowRun.objects.values_list("status", flat=True))
    problems = []
    seen: Counter = Counter()
    signals: Counter = Counter()
    for run_id, type_, data in HistoryEvent.objects.order_by().values_list("run_id", "type", "data").iterator(5000):
        if type_ in ONCE:
            seen[(run_id, type_, data[ONCE[type_]])] += 1
        elif type_ == "SignalReceived":
            signals[run_id] += 1
    problems += [f"{key[1]} {key[2]} recorded {count}x in run {key[0]}" for key, count in seen.items() if count > 1]
    problems += [f"signal recorded {count}x in run {run_id}" for run_id, count in signals.items() if count != 1]
    for wid, result in WorkflowRun.objects.values_list("workflow_id", "result"):
        value = int(wid.split("-")[1])
        expected = {"a": value + 1, "b": value + 2, "c": value + 12, "d": 2 * value + 16}
        if result != expected:
            problems.append(f"{wid} returned {result}, expected {expected}")
    if sum(statuses.values()) != n:
        problems.append(f"{sum(statuses.values())} runs instead of {n}")
    return statuses, problems


def main() -> int:
    args = parse_args()
    load_start = harness.loadavg()
    with harness.private_setup(args, "df-faults-", "faults.sqlite3") as setup:
        from django.db import transaction
        from django.db.models import Max

        import durableflows as df
        from bench.benchapp.workflows import under_faults
        from durableflows.models import WorkflowRun
        from durableflows.status import OPEN_STATUSES

        workers = setup.workers
        supervisor = Supervisor(workers)

        print(f"starting {args.n} workflows, then the faults ...", flush=True)
        first = time.time()
        for start in range(0, args.n, 250):
            with transaction.atomic():
                for i in range(start, min(args.n, start + 250)):
                    df.start(under_faults, i, id=f"fault-{i}")
        random.seed(1)
        last_fault = first
        schedule = list(SCHEDULE)
        resume_at: dict[int, float] = {}
        open_runs = WorkflowRun.objects.filter(status__in=OPEN_STATUSES)
        deadline = time.monotonic() + args.timeout
        while schedule or resume_at or open_runs.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{open_runs.count()} runs still open")
            done = 1 - open_runs.count() / args.n
            while schedule and schedule[0][0] <= done:
                _, fault = schedule.pop(0)
                index = int(fault.rsplit(" ", 1)[1]) % len(workers) if "worker" in fault else None
                if fault.startswith("kill"):
                    supervisor.kill(index)
                elif fault.startswith("stop"):
                    supervisor.signal(index, signal.SIGSTOP)
                    resume_at[index] = time.monotonic() + STOPPED_FOR
                elif fault.startswith("continue"):
                    supervisor.signal(index, signal.SIGCONT)
                elif fault == "restart redis":
                    setup.services.redis.restart()
                elif fault == "duplicate deliveries":
                    fault += f" ({duplicate_deliveries()} messages)"
                elif fault == "signal all":
                    signal_all(args.n)
                if not fault.startswith("signal"):
                    last_fault = time.time()
                print(f"  {time.time() - first:6.1f}s: {fault}; {open_runs.count()} runs open", flush=True)
            for index, at in list(resume_at.items()):
                if time.monotonic() >= at:
                    supervisor.signal(index, signal.SIGCONT)
                    del resume_at[index]
                    last_fault = time.time()
                    print(f"  {time.time() - first:6.1f}s: continue worker {index}", flush=True)
            supervisor.tend()
            time.sleep(0.1)
        seen_done = time.time()
        closed = WorkflowRun.objects.aggregate(last=Max("closed_at"))["last"].timestamp()
        statuses, problems = check_histories(args.n)

        print()
        print(f"machine: {harness.machine(load_start)}")
        print(f"workers: {args.workers} x celery worker -P prefork -c {args.concurrency}; database {args.database}")
        shown = harness.durableflows_settings(lambda k: "REDELIVER" in k or "HOUSEKEEPING_INTERVAL" in k)
        print(f"DURABLEFLOWS: {shown}")
        print(f"workers restarted by the supervisor: {supervisor.restarts} "
              f"({supervisor.unprompted_exits} exited on their own)")  # fmt: skip
        print(f"runs: {dict(statuses)}")
        print(f"duplicated or wrong facts: {len(problems)}" + "".join(f"\n  {p}" for p in problems[:20]))
        print(f"drain after the last fault: {closed - last_fault:.1f}s (seen by the bench after "
              f"{seen_done - last_fault:.1f}s); total {closed - first:.1f}s")  # fmt: skip
        return 1 if problems or statuses.get("completed") != args.n else 0


if __name__ == "__main__":
    harness.run_script(main)
