"""The durableflows admin: workflow runs with their history, timeline and operations; schedules.

``WorkflowRunInline`` lists a model row's runs (``df.start(..., subject=row)``)
on that model's own admin page.
"""

from .inlines import WorkflowRunInline
from .runs import WorkflowRunAdmin
from .schedules import ScheduleAdmin

__all__ = ["ScheduleAdmin", "WorkflowRunAdmin", "WorkflowRunInline"]
