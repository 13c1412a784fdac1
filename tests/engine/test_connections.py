"""Workers keep their database connection between tasks, and still retire it when it is old or broken."""
import time
from types import SimpleNamespace

from celery.fixups.django import DjangoWorkerFixup
from django.db import connection, transaction

from durableflows.tasks import workflow_task
from project.celery import app


def test_celery_keeps_the_connection_open_between_tasks_with_the_project_settings(transactional_db):
    fixup = DjangoWorkerFixup(app)
    task = SimpleNamespace(request=SimpleNamespace(is_eager=False))
    connection.ensure_connection()
    opened = connection.connection
    for _ in range(20):  # what Celery does around each of 20 tasks
        fixup.on_task_prerun(sender=task)
        fixup.on_task_postrun(sender=task)
    assert connection.connection is opened


def test_a_task_retires_an_old_connection_first(transactional_db):
    connection.ensure_connection()
    connection.close_at = time.monotonic() - 1  # older than CONN_MAX_AGE
    assert workflow_task("not-a-run-id") == "missing"
    assert connection.connection is None


def test_a_task_run_eagerly_inside_a_transaction_leaves_the_connection_alone(transactional_db):
    with transaction.atomic():
        connection.ensure_connection()
        opened = connection.connection
        connection.close_at = time.monotonic() - 1
        assert workflow_task("not-a-run-id") == "missing"
        assert connection.connection is opened
        assert not connection.needs_rollback
    connection.close_at = None
