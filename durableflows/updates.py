"""Sending updates to runs and waiting for their outcome: ``handle.update`` and ``df.UpdateHandle``.

An update is a row (``UpdateRequest``) plus an ``UpdateAccepted`` fact in the run's inbox. The next
workflow task runs the update's validator against the run's current state: a rejection is stored on
the row only, an acceptance enters the history and runs the handler, whose ``UpdateCompleted`` fills
in the row. The caller polls the row, as ``handle.result()`` polls the run.
"""

from __future__ import annotations

import uuid
from typing import Any, Generic, TypeVar

from django.db import IntegrityError, transaction

from . import polling, serialization, storage
from .conf import df_settings
from .errors import UpdateFailed, UpdateRejected, WorkflowNotFound
from .models import UpdateRequest, WorkflowRun
from .options import Duration
from .runtime import EventType
from .transactions import write_transaction
from .workflow_classes import handler_return_hint

R = TypeVar("R")


class UpdateHandle(Generic[R]):
    """An update sent to a run: ``result()`` waits for its outcome. Rebuild it anywhere from its ids."""

    def __init__(self, workflow_id: str, update_id: str, run_id: str | uuid.UUID) -> None:
        self.workflow_id = workflow_id
        self.update_id = update_id
        self.run_id = str(run_id)

    def __repr__(self) -> str:
        return f"<UpdateHandle {self.update_id!r} of {self.workflow_id!r}>"

    def result(self, timeout: Duration | None = None) -> R:
        """Wait for the update's outcome and return the handler's result.

        Raises ``df.UpdateRejected`` if the validator refused it, ``df.UpdateFailed`` if the handler raised
        or the run closed first, ``TimeoutError`` after ``timeout``.
        """
        return polling.wait(self._poll, timeout, self._what())

    async def aresult(self, timeout: Duration | None = None) -> R:
        """``result()`` for async code; no thread is held between polls."""
        return await polling.await_(self._poll, timeout, self._what())

    def _what(self) -> str:
        return f"update {self.update_id!r} of {self.workflow_id!r}"

    def _poll(self) -> tuple[bool, Any]:
        """``(True, result)`` once decided (or raises its error); ``(False, None)`` while it is not."""
        try:
            run_id = uuid.UUID(self.run_id)
        except ValueError:
            raise WorkflowNotFound(f"{self.run_id!r} is not a run id") from None
        row = UpdateRequest.objects.select_related("run").filter(run_id=run_id, update_id=self.update_id).first()
        if row is None:
            row = _handed_on(run_id, self.update_id)
        if row is None:
            raise WorkflowNotFound(f"no update {self.update_id!r} for workflow {self.workflow_id!r}")
        return outcome(row)


def _handed_on(run_id: uuid.UUID, update_id: str) -> UpdateRequest | None:
    """The request in a later run of the workflow, if its run continued as new before deciding it."""
    while (successor := WorkflowRun.objects.filter(continued_from_id=run_id).values_list("pk", flat=True).first()):
        run_id = successor
        row = UpdateRequest.objects.select_related("run").filter(run_id=run_id, update_id=update_id).first()
        if row is not None:
            return row
    return None


def outcome(row: UpdateRequest) -> tuple[bool, Any]:
    """What a request's row says: decided or not, its result; raises the rejection or failure."""
    error = row.error or {}
    if row.state == UpdateRequest.State.COMPLETED:
        return True, serialization.decode(row.result, handler_return_hint(row.run.workflow_name, "update", row.name))
    if row.state == UpdateRequest.State.REJECTED:
        raise UpdateRejected(error.get("message", ""), error.get("type", ""))
    if row.state == UpdateRequest.State.FAILED:
        raise UpdateFailed(error.get("type", ""), error.get("message", ""), row.update_id)
    if not row.run.is_open:
        message = f"the run ended {row.run.status} before the update completed"
        raise UpdateFailed("WorkflowClosed", message, row.update_id)
    return False, None


def send_update(run: WorkflowRun, name: str, args: tuple[Any, ...], update_id: str | None) -> UpdateRequest:
    """Queue an update for ``run`` inside the caller's transaction; the request already sent with ``update_id``.

    ``run`` is the handle's run: open, unless a request with this id already exists in it.
    """
    if not serialization.is_storable_text(name) or not name:
        raise ValueError("update names are non-empty strings without NUL characters or lone surrogates")
    if update_id is not None and (not serialization.is_storable_text(update_id) or not update_id):
        raise ValueError("update_id must be a non-empty string without NUL characters or lone surrogates")
    encoded = serialization.check(list(args), what=f"arguments of update {name!r}", limit=df_settings.MAX_PAYLOAD_BYTES)
    with write_transaction():
        if update_id is not None:
            existing = UpdateRequest.objects.select_related("run").filter(run=run, update_id=update_id).first()
            if existing is not None:
                return existing
        if not run.is_open:
            raise WorkflowNotFound(f"workflow {run.workflow_id!r} has no open run (its last run is {run.status})")
        request = UpdateRequest(run=run, update_id=update_id or str(uuid.uuid4()), name=name, args=encoded)
        try:
            with transaction.atomic():  # a concurrent retry with the same id may insert first
                request.save(force_insert=True)
        except IntegrityError:
            return UpdateRequest.objects.select_related("run").get(run=run, update_id=request.update_id)
        add_update_fact(run, request)
    return request


def add_update_fact(run: WorkflowRun, request: UpdateRequest) -> None:
    """The inbox fact that asks the run's next workflow task to validate and apply the update."""
    storage.add_fact(
        run, EventType.UPDATE_ACCEPTED, {"update_id": request.update_id, "name": request.name, "args": request.args}
    )
