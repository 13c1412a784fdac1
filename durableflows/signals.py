"""Django signals about workflow runs, sent after the transaction that caused them commits.

Each is sent with ``sender=WorkflowRun`` and the keyword arguments
``workflow_id``, ``run_id``, ``workflow_name`` and ``status``; ``workflow_completed``
also gets ``result``, ``workflow_failed`` gets ``error``.
"""
from django.dispatch import Signal

workflow_started = Signal()
workflow_completed = Signal()
workflow_failed = Signal()
workflow_cancelled = Signal()
workflow_terminated = Signal()
