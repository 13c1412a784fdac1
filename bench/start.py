#!/usr/bin/env python
"""Cost of ``df.start()`` on PostgreSQL: its two INSERTs as one query outside a transaction vs inside one.

    python bench/start.py [--starts 200] [--rounds 10]

A throwaway PostgreSQL 15 cluster (as ``bench/run.py --database postgres``), migrated; then rounds of
``--starts`` starts each way, alternating in one process, and the median time per start of each way.
"Inside" is what ``df.start`` does inside a caller's transaction or off PostgreSQL: BEGIN, the query, COMMIT.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import SETTINGS, migrate, start_postgres  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--starts", type=int, default=200, help="starts per round and way (default 200)")
    p.add_argument("--rounds", type=int, default=10, help="rounds; the order of the two ways alternates (default 10)")
    args = p.parse_args()

    with contextlib.ExitStack() as stack:
        os.environ.update(DJANGO_SETTINGS_MODULE=SETTINGS, DATABASE_URL=start_postgres(stack), DJANGO_DEBUG="0")
        migrate()
        import django

        django.setup()
        import durableflows as df
        from bench.benchapp.workflows import three_steps
        from durableflows import client
        from durableflows.engine import doorbell

        doorbell.muted = True  # no broker: only the database's part of a start is measured

        def per_start(one_query: bool) -> float:
            with mock.patch.object(client, "batch_is_atomic_alone", lambda: one_query and client_default()):
                t0 = time.perf_counter()
                for i in range(args.starts):
                    df.start(three_steps, i)
                return (time.perf_counter() - t0) / args.starts * 1e6

        client_default = client.batch_is_atomic_alone
        if not client_default():
            raise SystemExit("a batch is one implicit transaction only on PostgreSQL with client-side binding")
        per_start(True), per_start(False)  # warm-up
        times: dict[bool, list[float]] = {True: [], False: []}
        for r in range(args.rounds):
            for way in (True, False) if r % 2 == 0 else (False, True):
                times[way].append(per_start(way))
        one, inside = statistics.median(times[True]), statistics.median(times[False])
        print(f"df.start(), median of {args.rounds} rounds of {args.starts}, load average {os.getloadavg()[0]:.2f}:")
        print(f"  inside a transaction (BEGIN, INSERTs, COMMIT): {inside:7.0f} us")
        print(f"  one query, one implicit transaction:            {one:7.0f} us   ({one / inside:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
