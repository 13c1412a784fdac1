"""The Django app: registers ``workflows.py`` modules, system checks and worker housekeeping."""

from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class DurableFlowsConfig(AppConfig):
    name = "durableflows"
    verbose_name = "Durable workflows"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the system checks
        from .engine import worker

        autodiscover_modules("workflows")
        worker.connect()
