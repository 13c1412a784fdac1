"""Whether the broker lost its messages: Redis restarted without persistence, or was flushed.

A key set in the broker's Redis database vanishes with its messages. Each housekeeping sweep
sets it if missing; the one worker that finds it missing gets ``True``, and housekeeping then
rings everything in flight at once instead of waiting for probes. Other transports answer ``False``.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from celery import current_app

log = logging.getLogger("durableflows.housekeeping")

KEY = "durableflows:broker-epoch"

_connection: Any = None


def lost_its_messages() -> bool:
    """Whether the broker's data is gone since any worker last looked; ``False`` if unreachable or not Redis."""
    global _connection
    try:
        if _connection is None:
            _connection = current_app.connection_for_write()
        if _connection.transport.driver_type != "redis":
            return False
        return bool(_connection.default_channel.client.set(KEY, uuid.uuid4().hex, nx=True))
    except Exception as exc:  # noqa: BLE001 - a broker that is down is noticed again next sweep
        log.warning("could not reach the broker to check it kept its messages: %s", exc)
        forget_connection()
        return False


def forget_connection() -> None:
    """Drop the connection (after an error, and when the worker stops)."""
    global _connection
    if _connection is not None:
        try:
            _connection.release()
        except Exception:  # noqa: BLE001 - it is being thrown away
            pass
    _connection = None
