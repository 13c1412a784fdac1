"""Fixtures and helpers shared by the API, admin and e2e tests: users by permission level, in-process driving."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission, User

import durableflows as df
from durableflows.engine import activities
from durableflows.engine.workflow_tasks import process_workflow_task
from durableflows.models import ActivityTask, WorkflowRun
from tests.api import workflows  # noqa: F401 - registers the ops.* workflows

OPERATIONS = (
    "start_workflow",
    "signal_workflow",
    "query_workflow",
    "update_workflow",
    "cancel_workflow",
    "terminate_workflow",
)
PASSWORD = "correct horse battery staple"


def make_user(username: str, *codenames: str, superuser: bool = False) -> User:
    """A staff user holding exactly the given durableflows permissions."""
    if superuser:
        return User.objects.create_superuser(username, f"{username}@example.com", PASSWORD)
    user = User.objects.create_user(username, f"{username}@example.com", PASSWORD, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="durableflows", codename__in=codenames))
    return User.objects.get(pk=user.pk)  # drop the permission cache


def drive(run_id: Any, steps: int = 20) -> WorkflowRun:
    """Run workflow tasks and due activities in this process until the run waits on something else."""
    for _ in range(steps):
        process_workflow_task(run_id)
        due = list(ActivityTask.objects.filter(run_id=run_id, state=ActivityTask.State.SCHEDULED))
        if not due:
            break
        for task in due:
            activities.execute(task.pk, task.attempt)
    return WorkflowRun.objects.get(pk=run_id)


def start_and_drive(workflow: str, *args: Any, id: str | None = None) -> df.WorkflowHandle:
    handle = df.start(workflow, *args, id=id)
    drive(handle.run_id)
    return handle


@pytest.fixture
def superuser(db) -> User:
    return make_user("root", superuser=True)


@pytest.fixture
def viewer(db) -> User:
    """May look at runs, but not operate them."""
    return make_user("viewer", "view_workflowrun")


@pytest.fixture
def operator(db) -> User:
    """May look at runs and perform every operation."""
    return make_user("operator", "view_workflowrun", *OPERATIONS)


@pytest.fixture
def nobody(db) -> User:
    """A staff member without any durableflows permission."""
    return make_user("nobody")


@pytest.fixture
def waiting(db) -> df.WorkflowHandle:
    """An ops.approval run parked on its "approve" signal."""
    handle = start_and_drive("ops.approval", "parcel", id="order-1")
    assert handle.status == df.Status.RUNNING
    return handle


@pytest.fixture
def failed(db) -> df.WorkflowHandle:
    handle = start_and_drive("ops.failing", "no stock", id="failing-1")
    assert handle.status == df.Status.FAILED
    return handle
