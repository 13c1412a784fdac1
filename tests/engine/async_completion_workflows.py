"""Activities that raise ``df.CompleteAsync`` and hand their task tokens to the test (registered on import)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import durableflows as df

#: Task tokens handed over, by order id, in the order the attempts ran.
tokens: dict[str, list[str]] = defaultdict(list)
#: ``df.activity_info()`` of each attempt, by order id.
infos: dict[str, list[df.ActivityInfo]] = defaultdict(list)


@dataclasses.dataclass
class Receipt:
    charge_id: str
    amount: Decimal


@df.activity(
    name="engine.async.request_charge",
    start_to_close_timeout=timedelta(minutes=10),
    heartbeat_timeout=timedelta(seconds=60),
    retry=df.RetryPolicy(maximum_attempts=3, initial_interval=timedelta(seconds=1), non_retryable_errors=["Fraud"]),
)
def request_charge(order_id: str) -> Receipt:
    """Asks a (pretend) payment provider to charge, which answers later through a webhook with the token."""
    info = df.activity_info()
    infos[order_id].append(info)
    tokens[order_id].append(info.task_token)
    try:
        raise df.CompleteAsync()
    except Exception:  # noqa: BLE001 - CompleteAsync is no Exception: a broad handler lets it through
        return Receipt("swallowed", Decimal(0))


@df.activity(name="engine.async.request_charge_async", start_to_close_timeout=timedelta(minutes=5))
async def request_charge_async(order_id: str) -> Receipt:
    await asyncio.sleep(0)
    tokens[order_id].append(df.activity_info().task_token)
    raise df.CompleteAsync()


@df.workflow(name="engine.async.charge")
async def charge(order_id: str, use_async_def: bool = False) -> dict:
    try:
        receipt = await df.execute_activity(request_charge_async if use_async_def else request_charge, order_id)
    except df.ActivityError as exc:
        return {"error": exc.type, "message": exc.message, "attempts": exc.attempts}
    except asyncio.CancelledError:
        await df.sleep(timedelta(hours=1))  # stays open a while, so the test can see the activity's side
        return {"cancelled": True}
    return {"charge_id": receipt.charge_id, "amount": receipt.amount, "is_receipt": isinstance(receipt, Receipt)}
