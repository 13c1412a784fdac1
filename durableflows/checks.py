"""System checks that catch misconfiguration at startup."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from .conf import DEFAULTS
from .options import to_seconds


@checks.register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    user = getattr(settings, "DURABLEFLOWS", {})
    if not isinstance(user, dict):
        return [checks.Error("DURABLEFLOWS must be a dict", id="durableflows.E001")]
    for key in sorted(set(user) - set(DEFAULTS)):
        errors.append(
            checks.Error(
                f"unknown DURABLEFLOWS setting {key!r}",
                hint=f"known settings: {', '.join(sorted(DEFAULTS))}",
                id="durableflows.E002",
            )
        )
    for key in ("HOUSEKEEPING_INTERVAL", "REDELIVERY_TIMEOUT", "STUCK_RETRY_INTERVAL"):
        value = user.get(key, DEFAULTS[key])
        if not isinstance(value, (int, float)) or value <= 0:
            errors.append(checks.Error(f"DURABLEFLOWS[{key!r}] must be a positive number", id="durableflows.E003"))
    retention = user.get("RETENTION")
    if retention is not None:
        try:
            to_seconds(retention, name='DURABLEFLOWS["RETENTION"]')
        except (TypeError, ValueError) as exc:
            errors.append(
                checks.Error(str(exc), hint="use a timedelta, a number of seconds, or None", id="durableflows.E004")
            )
    if not getattr(settings, "CELERY_BROKER_URL", None) and not getattr(settings, "BROKER_URL", None):
        errors.append(
            checks.Warning(
                "no Celery broker is configured",
                hint="set CELERY_BROKER_URL (e.g. redis://localhost:6379/0) and use namespace='CELERY' in celery.py",
                id="durableflows.W001",
            )
        )
    errors += _check_database()
    if getattr(settings, "CELERY_DB_REUSE_MAX", None) is None:
        errors.append(
            checks.Warning(
                "Celery workers will close the database connection before and after every task",
                hint="set CELERY_DB_REUSE_MAX = 1000: reconnecting costs more than a workflow task; "
                "durableflows' tasks still retire connections older than CONN_MAX_AGE",
                id="durableflows.W002",
            )
        )
    return errors


def _check_database() -> list[checks.CheckMessage]:
    """The engine's transactions and statements use the default database: its tables must live there."""
    from django.apps import apps
    from django.db import DEFAULT_DB_ALIAS, router

    for model in apps.get_app_config("durableflows").get_models():
        for alias in (router.db_for_read(model), router.db_for_write(model)):
            if alias not in (None, DEFAULT_DB_ALIAS):
                return [
                    checks.Error(
                        f"a database router sends {model._meta.label} to {alias!r}",
                        hint="durableflows' tables must be in the default database, with its transactions",
                        id="durableflows.E005",
                    )
                ]
    return []
