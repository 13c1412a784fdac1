"""Temporal's hello_activity_method: activities are methods of an object built with its dependencies.

The worker's startup (here: importing this module) builds ``MyActivities`` around a database client
and registers its ``@df.activity_method``s; the workflow names the method on the class.
"""

from __future__ import annotations

import os
from datetime import timedelta

import durableflows as df


class MyDatabaseClient:
    """A stand-in for a client the activities need; it remembers what it did."""

    def __init__(self) -> None:
        self.updates: list[str] = []

    async def run_database_update(self) -> str:
        self.updates.append("update")
        return f"database update {len(self.updates)} in process {os.getpid()}"


class MyActivities:
    def __init__(self, db_client: MyDatabaseClient) -> None:
        self.db_client = db_client

    @df.activity_method
    async def do_database_thing(self) -> str:
        return await self.db_client.run_database_update()


db_client = MyDatabaseClient()
my_activities = MyActivities(db_client)
df.register_activities(my_activities)


@df.workflow(name="samples.hello_activity_method")
class MyWorkflow:
    @df.run
    async def run(self) -> str:
        return await df.execute_activity(MyActivities.do_database_thing, start_to_close_timeout=timedelta(seconds=10))
