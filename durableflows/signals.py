"""Django signals about workflow runs, sent after the transaction that caused them commits.

Each is sent with ``sender=WorkflowRun`` and the keyword arguments
``workflow_id``, ``run_id``, ``workflow_name`` and ``status``; ``workflow_completed``
also gets ``result``, ``workflow_failed`` gets ``error``.
"""

import logging
from typing import Any

from django.db import transaction
from django.dispatch import Signal

log = logging.getLogger("durableflows.signals")

workflow_started = Signal()
workflow_completed = Signal()
workflow_failed = Signal()
workflow_cancelled = Signal()
workflow_terminated = Signal()


def send_on_commit(signal: Signal, sender: type, **kwargs: Any) -> None:
    """Send ``signal`` once the current transaction commits; a receiver that raises is logged, not fatal."""
    if not signal.has_listeners(sender):
        return

    def send() -> None:
        for receiver, error in signal.send_robust(sender=sender, **kwargs):
            if isinstance(error, Exception):
                log.error("receiver %r of a durableflows signal failed", receiver, exc_info=error)

    transaction.on_commit(send)
