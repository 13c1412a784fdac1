"""A transactional activity that writes a receipt, and can kill its whole worker around the commit.

``kill`` says where attempt 1 dies: ``"before_commit"`` inside the transaction (the receipt is
written but never committed), ``"after_commit"`` right after it (the receipt and ActivityCompleted
are committed, the workflow task that would follow never runs). The whole worker dies (its process
group, as ``kill -9`` of a machine's worker would), not only the pool child. Each kill leaves a
marker file ``<key>.killed.<where>`` in ``gate_dir`` first, so the test can tell that it happened.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from datetime import timedelta
from pathlib import Path

from django.db import transaction

import durableflows as df

from .models import Receipt
from .workflows import FAST_RETRY


def _die(gate_dir: str, key: str, where: str) -> None:
    (Path(gate_dir) / f"{key}.killed.{where}").touch()
    os.killpg(os.getpgid(0), signal.SIGKILL)


@df.activity(name="it.tx_receipt", transactional=True, start_to_close_timeout=timedelta(seconds=3), retry=FAST_RETRY)
def write_receipt(gate_dir: str, key: str, kill: str = "") -> str:
    """Writes one receipt; sleeps a little, so that a worker killed meanwhile dies inside the transaction."""
    attempt = df.activity_info().attempt
    Receipt.objects.create(key=key, attempt=attempt)
    time.sleep(0.05)
    if attempt == 1 and kill == "before_commit":
        _die(gate_dir, key, kill)
    if attempt == 1 and kill == "after_commit":
        transaction.on_commit(lambda: _die(gate_dir, key, kill))
    return key


@df.workflow(name="it.tx_receipts")
async def receipts(gate_dir: str, key: str, kills: list[str]) -> list[str]:
    """One receipt on its own (run eagerly, in the workflow task's worker), then two at once (by message)."""
    first = await df.execute_activity(write_receipt, gate_dir, f"{key}-0", kills[0])
    rest = await asyncio.gather(
        df.execute_activity(write_receipt, gate_dir, f"{key}-1", kills[1]),
        df.execute_activity(write_receipt, gate_dir, f"{key}-2", kills[2]),
    )
    return [first, *rest]
