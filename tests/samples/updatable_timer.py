"""Temporal's updatable_timer: a durable sleep whose wake-up time a signal moves, read by a query.

The timer waits on a condition with a timeout; a new wake-up time wakes it, and it sleeps again
for whatever remains. Times cross the boundary as POSIX timestamps, as in the sample.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import durableflows as df


class UpdatableTimer:
    def __init__(self, wake_up_time: datetime) -> None:
        self.wake_up_time = wake_up_time
        self.wake_up_time_updated = False

    async def sleep(self) -> None:
        while (remaining := self.wake_up_time - df.now()) > timedelta(0):
            self.wake_up_time_updated = False
            try:
                await df.wait_condition(lambda: self.wake_up_time_updated, timeout=remaining)
            except TimeoutError:
                pass  # the loop checks whether the (possibly moved) time has come

    def update_wake_up_time(self, wake_up_time: datetime) -> None:
        self.wake_up_time = wake_up_time
        self.wake_up_time_updated = True


@df.workflow(name="samples.updatable_timer")
class Workflow:
    """Temporal builds the timer in ``@workflow.init``; here the run method does, before its first await,
    so every signal and query finds it."""

    timer: UpdatableTimer

    @df.run
    async def run(self, wake_up_time: float) -> float:
        self.timer = UpdatableTimer(_from_timestamp(wake_up_time))
        await self.timer.sleep()
        return df.now().timestamp()

    @df.signal
    def update_wake_up_time(self, wake_up_time: float) -> None:
        self.timer.update_wake_up_time(_from_timestamp(wake_up_time))

    @df.query
    def get_wake_up_time(self) -> float:
        return self.timer.wake_up_time.timestamp()


def _from_timestamp(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)
