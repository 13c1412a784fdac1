"""The ``a``-prefixed twins, as async Django views call them."""

import asyncio

import pytest
from django.core.exceptions import SynchronousOnlyOperation

import durableflows as df
from durableflows.engine import doorbell
from durableflows.engine.workflow_tasks import process_workflow_task

from .workflows import approval


@pytest.fixture
def no_broker(transactional_db):
    doorbell.muted = True
    yield
    doorbell.muted = False


def test_async_twins_start_signal_query_and_wait(no_broker):
    async def start():
        handle = await df.astart(approval, id="async-1")
        assert handle.run_id and handle.workflow_id == "async-1"  # known from the start: no query in async code
        with pytest.raises(SynchronousOnlyOperation, match="astatus"):
            handle.status  # noqa: B018 - the property itself is what is tested
        return handle, await handle.astatus()

    handle, status = asyncio.run(start())
    assert status == df.Status.PENDING
    process_workflow_task(handle.run_id)

    async def operate():
        same = await df.aget_handle("async-1")
        assert same.run_id == handle.run_id
        assert await same.aquery("stage") == "waiting for approval"
        assert await same.avars() == {"stage": "waiting"}
        await same.asignal("approve", "yes")
        return same

    same = asyncio.run(operate())
    process_workflow_task(handle.run_id)

    async def finish():
        return await same.aresult(timeout=5), [e.type.value for e in await same.ahistory()], await same.adescribe()

    result, history, description = asyncio.run(finish())
    assert result == "yes" and history[-1] == "WorkflowCompleted" and description["status"] == "completed"
    with pytest.raises(df.WorkflowNotFound):
        asyncio.run(df.aget_handle("async-missing"))
