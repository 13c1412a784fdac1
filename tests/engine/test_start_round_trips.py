"""``df.start`` outside a transaction on PostgreSQL: its two INSERTs as one query, one implicit transaction."""

from unittest import mock

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

import durableflows as df
from durableflows import storage
from durableflows.engine import doorbell
from durableflows.models import HistoryEvent, WorkflowRun
from durableflows.transactions import batch_is_atomic_alone

from .workflows import three_steps


@pytest.fixture
def postgres_autocommit(transactional_db):
    """Real commits, no broker; only where a batch goes out as one query (PostgreSQL, client-side binding)."""
    if not batch_is_atomic_alone():
        pytest.skip("a batch is one implicit transaction only on PostgreSQL with client-side binding")
    doorbell.muted = True
    yield
    doorbell.muted = False


def test_a_start_outside_a_transaction_is_one_query_and_opens_no_transaction(postgres_autocommit):
    connection.ensure_connection()  # connecting sets autocommit too
    with (
        mock.patch.object(connection, "set_autocommit", wraps=connection.set_autocommit) as set_autocommit,
        CaptureQueriesContext(connection) as queries,
    ):
        handle = df.start(three_steps, 1)
    assert set_autocommit.call_count == 0  # transaction.atomic() would have turned autocommit off
    assert len(queries) == 1, [q["sql"] for q in queries]
    assert WorkflowRun.objects.filter(run_id=handle._run_id).exists()
    assert HistoryEvent.objects.filter(run_id=handle._run_id).count() == 1


def test_a_start_whose_second_insert_fails_stores_nothing(postgres_autocommit):
    real_append = storage.append_events

    def append_then_fail(run, events, *, batch=None):
        real_append(run, events, batch=batch)
        batch.add("SELECT 1 / 0", [])  # fails after both INSERTs, in the same query

    with mock.patch.object(storage, "append_events", append_then_fail), pytest.raises(DatabaseError):
        df.start(three_steps, 1)
    assert not WorkflowRun.objects.exists()
    assert not HistoryEvent.objects.exists()


def test_a_start_with_an_id_or_inside_a_transaction_keeps_the_transaction(postgres_autocommit):
    from django.db import transaction

    with transaction.atomic():
        handle = df.start(three_steps, 1)
        transaction.set_rollback(True)
    assert not WorkflowRun.objects.filter(run_id=handle._run_id).exists()
    df.start(three_steps, 1, id="fixed")
    with pytest.raises(df.WorkflowAlreadyExists):
        df.start(three_steps, 1, id="fixed")
