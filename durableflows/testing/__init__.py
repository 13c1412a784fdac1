"""Run workflows in your tests: in-process, on the real engine, with time that skips ahead.

``WorkflowEnvironment`` drives the same engine the workers run (workflow
tasks, activity attempts, timers, timeouts, schedules) in the test's own process and
database transaction, sends no Celery messages, and moves its clock straight
to the next due timer whenever nothing else can happen, so a 30-day
``df.sleep`` returns at once. Activities can be mocked by name or function.
"""

from .environment import ActivityMock, EnvironmentHandle, WorkflowEnvironment

__all__ = ["ActivityMock", "EnvironmentHandle", "WorkflowEnvironment"]
