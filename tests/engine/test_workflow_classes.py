"""Class workflows through the engine and the testing toolkit: starts, handles, children, continue-as-new, replay."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

import durableflows as df
from durableflows import registry
from durableflows.engine.workflow_tasks import cache
from durableflows.models import WorkflowRun
from durableflows.workflow_classes import describe_class, entry_function

from .class_workflows import Composer, Counter, Greeting, GreetingCollector, GreetingHolder, ParentClass, compose


# -- Temporal's samples, as classes, through the toolkit ----------------------------------------------
def test_hello_signal(durableflows_env):
    handle = durableflows_env.start(GreetingCollector, id="hello-signal")
    durableflows_env.run_until_idle()
    for name in ("user1", "user2", "user3"):
        handle.signal("submit_greeting", name)
    handle.signal("exit_workflow")
    assert handle.result() == ["user1", "user2", "user3"]


def test_hello_query(durableflows_env):
    handle = durableflows_env.start(GreetingHolder, "World", id="hello-query")
    durableflows_env.run_until_idle()
    assert handle.query("greeting") == "Hello, World!"
    durableflows_env.sleep(timedelta(seconds=3))
    assert handle.query("greeting") == "Goodbye, World!"
    assert handle.result() is None


def test_queries_see_signals_no_worker_has_processed_yet(durableflows_env):
    handle = durableflows_env.start("classes_engine.counter", 0, id="unprocessed")
    durableflows_env.run_until_idle()
    handle.signal("add", 4)  # accepted, not yet applied by a workflow task
    assert handle.query("state") == {"seen": 1, "total": 4}
    with pytest.raises(df.QueryNotFound, match="known: state"):
        handle.query("total")


def test_a_mocked_activity_serves_a_class_workflow(durableflows_env):
    mock = durableflows_env.mock_activity(compose, side_effect=lambda greeting: f"{greeting.salutation}!")
    assert durableflows_env.start(GreetingHolder, "Ada").result() is None
    assert [call[0].salutation for call in mock.calls] == ["Hello", "Goodbye"]


# -- starts and results ------------------------------------------------------------------------
def test_start_by_class_or_name_and_the_result_is_rebuilt_from_the_run_method_hint(durableflows_env):
    by_class = durableflows_env.start(Composer, "Hi", "ada")
    by_name = durableflows_env.start("classes_engine.composer", "Hi", "bob")
    assert by_class.result() == Greeting("Hi", "HI, ADA!")
    assert by_name.result() == Greeting("Hi", "HI, BOB!")
    assert WorkflowRun.objects.get(pk=by_class.run_id).workflow_name == "classes_engine.composer"


def test_start_checks_arguments_against_the_run_method(durableflows_env):
    with pytest.raises(df.InvalidArguments, match="'name' must be str"):
        durableflows_env.start(Composer, "Hi", 3)
    with pytest.raises(df.InvalidArguments, match="do not fit"):
        durableflows_env.start(Composer, "Hi")
    assert not WorkflowRun.objects.exists()


def test_a_schedule_starts_a_class_workflow(durableflows_env):
    df.schedule(Composer, "Morning", "team", id="greet-daily", cron="0 9 * * *")
    with pytest.raises(df.InvalidArguments, match="'name' must be str"):
        df.schedule(Composer, "Morning", 7, id="greet-wrong", cron="0 9 * * *")
    durableflows_env.sleep(timedelta(days=1))
    run = WorkflowRun.objects.get(workflow_id__startswith="greet-daily@")
    assert (run.workflow_name, run.status, run.result) == (
        "classes_engine.composer", "completed", {"salutation": "Morning", "name": "MORNING, TEAM!"}
    )


def test_children_of_either_style(durableflows_env):
    assert durableflows_env.start("classes_engine.parent_function", "ann").result() == "HI, ANN!"
    assert durableflows_env.start(ParentClass).result() == ["from parent"]


def test_continue_as_new_starts_a_fresh_instance_with_the_carried_arguments(durableflows_env):
    handle = durableflows_env.start(Counter, 0, id="counter")
    durableflows_env.run_until_idle()
    handle.signal("add", 1)
    handle.signal("add", 1)
    durableflows_env.run_until_idle()
    latest = durableflows_env.get_handle("counter")
    assert latest.run_id != handle.run_id
    assert latest.query("state") == {"seen": 0, "total": 2}
    latest.signal("add", 3)
    assert latest.result() == 5


def test_a_run_replayed_from_the_database_rebuilds_its_instance(durableflows_env):
    handle = durableflows_env.start(GreetingCollector, id="replayed")
    durableflows_env.run_until_idle()
    handle.signal("submit_greeting", "one")
    durableflows_env.run_until_idle()
    cache.clear()  # a fresh process: the next task replays the history into a new instance
    handle.signal("submit_greeting", "two")
    handle.signal("exit_workflow")
    assert handle.result() == ["one", "two"]


# -- the replay check -----------------------------------------------------------------------------
def _replay_check() -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("durableflows_replay_check", "--workflow", "classes_engine.hello_query", stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue() + str(exc)
    return 0, out.getvalue()


@pytest.fixture
def deploy():
    """Register another class as classes_engine.hello_query, as a deploy of changed code would; restored after."""
    name = "classes_engine.hello_query"
    original = registry._workflows[name]

    def swap(cls: type) -> None:
        spec = describe_class(cls)
        registry._workflows[name] = registry.WorkflowDefinition(name, entry_function(spec), workflow_class=spec)

    yield swap
    registry._workflows[name] = original


def test_the_replay_check_replays_class_workflows_and_reports_a_changed_class(durableflows_env, deploy):
    durableflows_env.start(GreetingHolder, "World", id="hello-check")
    durableflows_env.run_until_idle()  # waits on its first timer
    assert _replay_check() == (0, "Replayed 1 run(s): 0 cannot be replayed by the current code.\n")

    class SleepsFirst(GreetingHolder):
        @df.run
        async def run(self, name: str) -> None:
            await df.sleep(1)

    deploy(SleepsFirst)
    status, output = _replay_check()
    assert status == 1 and "NON-DETERMINISM" in output and "workflow_id=hello-check" in output


def test_hello_update_with_a_validated_update_method(durableflows_env):
    from .class_workflows import HelloUpdate, Translation

    handle = durableflows_env.start(HelloUpdate, "Ada")
    assert handle.update("set_language", "fr") == "en"  # the handler's result, after its activity
    with pytest.raises(df.UpdateRejected, match="'xx' is not supported"):
        handle.update("set_language", "xx")
    before = handle.history()
    with pytest.raises(df.UpdateRejected):
        handle.update("set_language", "es")  # validated against the state: not yet known
    assert handle.history() == before  # a rejection records nothing
    assert handle.update("add_translation", {"language": "es", "text": "Hola"}) == 4  # rebuilt as a Translation
    assert handle.update("set_language", Translation("es", "Hola").language) == "fr"
    handle.signal("finish")
    assert handle.result() == "Hola, Ada!"
    assert [e.type.value for e in handle.history()].count("UpdateCompleted") == 3


def test_update_decorators_refuse_what_cannot_work():
    with pytest.raises(TypeError, match="must take self"):
        df.update(lambda: None)
    with pytest.raises(TypeError, match="plain method"):

        class Bad:
            @df.update
            def change(self, value: int) -> None: ...

            @change.validator
            async def _check(self, value: int) -> None: ...
