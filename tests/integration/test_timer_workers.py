"""Short durable timers through a real worker fire at their time, not at housekeeping's next full sweep."""

from __future__ import annotations

from collections import Counter

import pytest

import durableflows as df
from tests.integration_app import workflows as wf

pytestmark = pytest.mark.django_db(transaction=True)

#: Full sweeps this far apart: a timer that waited for one would take half a minute.
SLOW_SWEEPS = "30"


def test_a_short_timer_fires_long_before_the_next_full_sweep(workers):
    workers.env["DURABLEFLOWS_HOUSEKEEPING_INTERVAL"] = SLOW_SWEEPS
    workers.start()  # its housekeeper sweeps once now, sees no timer, and plans to sleep 30 s
    handle = df.start(wf.sleeper, 0.3, id="it-short-timer")

    assert handle.result(timeout=15) == ["0>a", "0>a>b"]
    counts = Counter(str(event.type) for event in handle.history())
    assert counts["TimerStarted"] == counts["TimerFired"] == 1
