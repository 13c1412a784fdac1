"""The durableflows admin: workflow runs with their history, timeline and operations.

``WorkflowRunInline`` lists a model row's runs (``df.start(..., subject=row)``)
on that model's own admin page.
"""

from .inlines import WorkflowRunInline
from .runs import WorkflowRunAdmin

__all__ = ["WorkflowRunAdmin", "WorkflowRunInline"]
