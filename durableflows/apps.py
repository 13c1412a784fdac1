"""The Django app: registers ``workflows.py`` modules, the Celery tasks, system checks and worker housekeeping."""

from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class DurableFlowsConfig(AppConfig):
    name = "durableflows"
    verbose_name = "Durable workflows"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # the tasks register with every Celery app, whatever its name and whether or not it autodiscovers
        from . import checks, tasks, transactions  # noqa: F401
        from .engine import worker

        autodiscover_modules("workflows")
        worker.connect()
