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


def edit(admin_client, **changes):
    url = reverse("admin:durableflows_schedule_change", args=[Schedule.objects.get().pk])
    form = {"schedule_id": "nightly", "workflow_name": "engine.three_steps", "args": "[1]", "cron": "0 3 * * *",
            "timezone": "UTC", "overlap": "skip", "queue": "", **changes}  # fmt: skip
    return admin_client.post(url, form)


def test_the_workflow_is_a_choice_of_registered_names(admin_client, nightly):
    html = admin_client.get(reverse("admin:durableflows_schedule_change", args=[nightly._row().pk])).content.decode()
    assert '<select name="workflow_name"' in html and '<option value="engine.three_steps" selected>' in html


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"workflow_name": "no.such"}, "Select a valid choice"),
        ({"args": '{"x": 1}'}, "Enter a JSON array"),
        ({"args": "1"}, "Enter a JSON array"),
        ({"args": "[]"}, "missing a required argument"),
        ({"args": "[1, 2]"}, "too many positional arguments"),
        ({"args": '["one"]'}, "&#x27;x&#x27; must be int, not str"),
        ({"args": '[{"__df__": "datetime", "v": "yesterday"}]'}, "cannot be decoded"),
    ],
)
def test_edits_are_checked_like_a_start(admin_client, nightly, changes, message):
    response = edit(admin_client, cron="0 4 * * *", **changes)
    assert response.status_code == 200 and message in response.content.decode()
    row = Schedule.objects.get()
    assert (row.workflow_name, row.args, row.cron) == ("engine.three_steps", [1], "0 3 * * *")


def test_a_valid_edit_is_saved(admin_client, nightly):
    assert edit(admin_client, args="[7]", cron="0 4 * * *").status_code == 302
    row = Schedule.objects.get()
    assert (row.args, row.cron) == ([7], "0 4 * * *")


def test_an_unregistered_workflow_is_shown_but_must_be_replaced(admin_client, nightly):
    Schedule.objects.update(workflow_name="gone.workflow")
    url = reverse("admin:durableflows_schedule_change", args=[Schedule.objects.get().pk])
    assert "gone.workflow (not registered)" in admin_client.get(url).content.decode()
    response = edit(admin_client, workflow_name="gone.workflow")
    assert response.status_code == 200 and "No workflow named &#x27;gone.workflow&#x27;" in response.content.decode()
    assert edit(admin_client).status_code == 302
    assert Schedule.objects.get().workflow_name == "engine.three_steps"


def test_action_errors_keep_the_schedule_id_as_it_is(admin_client, nightly):
    Schedule.objects.update(workflow_name="gone.workflow")  # its workflow was removed from the code
    response = admin_client.post(
        CHANGELIST, {"action": "trigger_selected", "_selected_action": [Schedule.objects.get().pk]}, follow=True
    )
    assert '<li class="error">Schedule nightly: ' in response.content.decode()  # not "Nightly: ..."
