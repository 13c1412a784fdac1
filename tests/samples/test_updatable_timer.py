"""updatable_timer: a signal moves the wake-up time of a durable sleep; a query reads it."""

from __future__ import annotations

import math
import time
from datetime import timedelta

import durableflows as df
from tests.helpers import wait_until

from .conftest import TIMEOUT, event_data
from .updatable_timer import Workflow


def test_updatable_timer_in_the_toolkit(durableflows_env):
    now = durableflows_env.now()
    in_a_day = (now + timedelta(days=1)).timestamp()
    in_an_hour = (now + timedelta(hours=1)).timestamp()
    handle = durableflows_env.start(Workflow, in_a_day, id="updatable-timer")
    assert math.isclose(handle.query("get_wake_up_time"), in_a_day)
    durableflows_env.run_until_idle()
    handle.signal("update_wake_up_time", in_an_hour)
    assert math.isclose(handle.query("get_wake_up_time"), in_an_hour)
    woke_at = handle.result()  # time skips to the new wake-up time, not the old one
    assert in_an_hour <= woke_at < in_an_hour + 1
    assert len(event_data(handle, "TimerCancelled")) == 1  # the day-long timer, replaced


def test_updatable_timer_on_workers(sample_workers):
    handle = df.start(Workflow, time.time() + 86400, id="updatable-timer-workers")
    wait_until(lambda: event_data(handle, "TimerStarted"), timeout=TIMEOUT, message="the day-long timer")
    soon = time.time() + 1
    handle.signal("update_wake_up_time", soon)
    assert math.isclose(handle.query("get_wake_up_time"), soon)
    woke_at = handle.result(timeout=TIMEOUT)
    assert soon <= woke_at < soon + TIMEOUT
