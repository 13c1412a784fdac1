"""``df.RetryPolicy``, ``df.ActivityOptions`` and the ``@df.activity`` / ``@df.workflow`` registry."""

from __future__ import annotations

from datetime import timedelta

import pytest

import durableflows as df
from durableflows import registry
from durableflows.options import to_seconds


def test_durations_accept_timedelta_and_seconds():
    assert to_seconds(timedelta(minutes=2)) == 120.0
    assert to_seconds(3) == 3.0
    assert to_seconds(0.25) == 0.25
    assert to_seconds(None) is None


@pytest.mark.parametrize("bad, error", [("5", TypeError), (True, TypeError), ([1], TypeError), (-1, ValueError)])
def test_bad_durations_are_refused(bad, error):
    with pytest.raises(error, match="timeout"):
        to_seconds(bad, name="timeout")


def test_retry_backoff_grows_and_is_capped():
    policy = df.RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=5)
    assert [policy.next_delay(n, "ValueError") for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_retry_default_cap_is_100_times_the_initial_interval():
    policy = df.RetryPolicy(initial_interval=2, backoff_coefficient=10)
    assert policy.next_delay(10, "X") == 200.0


def test_retry_stops_after_maximum_attempts_and_on_non_retryable_errors():
    policy = df.RetryPolicy(maximum_attempts=3, non_retryable_errors=["InsufficientFunds"])
    assert policy.next_delay(2, "ValueError") is not None
    assert policy.next_delay(3, "ValueError") is None
    assert policy.next_delay(1, "InsufficientFunds") is None
    assert df.RetryPolicy(maximum_attempts=0).next_delay(1000, "ValueError") is not None, "0 means unlimited"


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"maximum_attempts": -1}, ValueError),
        ({"maximum_attempts": 1.5}, ValueError),
        ({"initial_interval": 0}, ValueError),
        ({"initial_interval": "1s"}, TypeError),
        ({"backoff_coefficient": 0.5}, ValueError),
        ({"maximum_interval": "1m"}, TypeError),
        ({"maximum_interval": -5}, ValueError),
        ({"maximum_interval": 0}, ValueError),
        ({"non_retryable_errors": "ValueError"}, TypeError),
    ],
)
def test_bad_retry_policies_are_refused(kwargs, error):
    with pytest.raises(error):
        df.RetryPolicy(**kwargs)


def test_retry_policy_json_round_trip():
    policy = df.RetryPolicy(maximum_attempts=5, initial_interval=timedelta(seconds=1), non_retryable_errors=["A", "B"])
    data = policy.to_json()
    assert data == {
        "maximum_attempts": 5,
        "initial_interval": 1.0,
        "backoff_coefficient": 2.0,
        "maximum_interval": None,
        "non_retryable_errors": ["A", "B"],
    }
    assert df.RetryPolicy.from_json(data).to_json() == data
    assert policy.non_retryable_errors == ("A", "B")


def test_activity_options_build_with_defaults_and_overrides():
    options = df.ActivityOptions.build(start_to_close_timeout=timedelta(seconds=30), queue="io")
    assert options.start_to_close_timeout == 30.0
    assert options.schedule_to_close_timeout is None
    assert options.queue == "io"
    assert options.retry == df.RetryPolicy()
    assert df.ActivityOptions().start_to_close_timeout == 300.0, "the default is five minutes"
    merged = options.merged(heartbeat_timeout=10, retry=None)
    assert (merged.start_to_close_timeout, merged.heartbeat_timeout, merged.queue) == (30.0, 10.0, "io")
    assert merged.retry == df.RetryPolicy()
    assert df.ActivityOptions.from_json(merged.to_json()).to_json() == merged.to_json()


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"timeout": 5}, TypeError),
        ({"retry": {"maximum_attempts": 1}}, TypeError),
        ({"queue": 3}, TypeError),
        ({"start_to_close_timeout": "30"}, TypeError),
        ({"start_to_close_timeout": 0}, ValueError),
        ({"start_to_close_timeout": None}, ValueError),
        ({"heartbeat_timeout": -1}, ValueError),
    ],
)
def test_bad_activity_options_are_refused(kwargs, error):
    with pytest.raises(error):
        df.ActivityOptions.build(**kwargs)
    with pytest.raises(error):
        df.ActivityOptions().merged(**kwargs)


def test_activity_decorator_registers_options_and_keeps_the_function_callable():
    @df.activity(name="tests.options.add", start_to_close_timeout=5)
    def add(a: int, b: int) -> int:
        return a + b

    assert add(1, 2) == 3
    definition = registry.get_activity("tests.options.add")
    assert definition is registry.get_activity(add)
    assert definition.options.start_to_close_timeout == 5.0
    assert not definition.is_async
    assert "tests.options.add" in registry.activities()


def test_async_activities_are_accepted():
    @df.activity(name="tests.options.async_add")
    async def async_add(a: int) -> int:
        return a

    assert registry.get_activity(async_add).is_async


def test_activity_decorator_refuses_bad_options_at_import_time():
    with pytest.raises(TypeError):

        @df.activity(name="tests.options.bad", retries=3)
        def bad() -> None: ...


def test_default_names_are_module_and_qualname():
    @df.workflow
    async def plain() -> None: ...

    assert registry.get_workflow(plain).name == f"{__name__}.test_default_names_are_module_and_qualname.<locals>.plain"


def test_workflows_must_be_async():
    with pytest.raises(TypeError, match="async def"):

        @df.workflow(name="tests.options.sync")
        def sync() -> None: ...


def test_a_name_cannot_be_taken_twice():
    @df.workflow(name="tests.options.taken")
    async def first() -> None: ...

    with pytest.raises(ValueError, match="already registered"):

        @df.workflow(name="tests.options.taken")
        async def second() -> None: ...


def test_unknown_names_and_undecorated_functions():
    with pytest.raises(df.UnknownWorkflowError, match="nope"):
        registry.get_workflow("nope")
    with pytest.raises(df.UnknownWorkflowError, match="not decorated"):
        registry.get_activity(print)
    with pytest.raises(TypeError):
        registry.get_workflow(42)


def test_backoff_stays_at_its_cap_however_many_attempts_failed():
    policy = df.RetryPolicy(initial_interval=1, maximum_interval=60)
    assert policy.next_delay(1025, "ConnectionError") == 60.0
    assert policy.next_delay(10**6, "ConnectionError") == 60.0
