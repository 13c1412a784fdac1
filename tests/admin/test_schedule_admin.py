"""The schedule admin: list, edit, and the pause / resume / trigger actions with their permissions."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.urls import reverse

import durableflows as df
from durableflows.models import Schedule, WorkflowRun
from tests.engine.workflows import three_steps

CHANGELIST = reverse("admin:durableflows_schedule_changelist")


@pytest.fixture
def nightly(db):
    return df.schedule(three_steps, 1, id="nightly", cron="0 3 * * *")


def staff(*codenames: str) -> User:
    user = User.objects.create_user("operator", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="durableflows", codename__in=codenames))
    return user


def act(client, action: str):
    return client.post(CHANGELIST, {"action": action, "_selected_action": [Schedule.objects.get().pk]})


def test_superuser_sees_and_pauses_resumes_and_triggers(admin_client, nightly):
    page = admin_client.get(CHANGELIST)
    assert page.status_code == 200 and b"nightly" in page.content
    act(admin_client, "pause_selected")
    assert Schedule.objects.get().paused and Schedule.objects.get().next_fire_at is None
    act(admin_client, "resume_selected")
    assert not Schedule.objects.get().paused and Schedule.objects.get().next_fire_at is not None
    act(admin_client, "trigger_selected")
    assert WorkflowRun.objects.filter(workflow_id__startswith="nightly@").count() == 1
    assert LogEntry.objects.filter(change_message__startswith="Schedule").count() == 3


def test_trigger_needs_its_own_permission(client, nightly):
    client.force_login(staff("view_schedule", "change_schedule"))
    act(client, "trigger_selected")
    assert not WorkflowRun.objects.exists()
    act(client, "pause_selected")
    assert Schedule.objects.get().paused


def test_a_bad_cron_is_refused_by_the_edit_form(admin_client, nightly):
    url = reverse("admin:durableflows_schedule_change", args=[Schedule.objects.get().pk])
    form = {"schedule_id": "nightly", "workflow_name": "engine.three_steps", "args": "[1]", "cron": "61 * * * *",
            "timezone": "UTC", "overlap": "skip", "queue": ""}  # fmt: skip
    response = admin_client.post(url, form)
    assert response.status_code == 200 and b"cron" in response.content.lower()
    assert Schedule.objects.get().cron == "0 3 * * *"
