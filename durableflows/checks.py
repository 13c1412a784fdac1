"""System checks that catch misconfiguration at startup."""

from __future__ import annotations

import importlib.util
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
    errors += _check_celery()
    errors += _check_connections()
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


def _check_celery() -> list[checks.CheckMessage]:
    """The project's Celery app is loaded (doorbells are sent through it) and its broker's client is installed."""
    from celery import current_app

    if current_app.main == "default":  # Celery's fallback: no app was created in this process
        return [
            checks.Error(
                "no Celery app is loaded in this process, so workflows would be sent to Celery's default broker",
                hint="create <project>/celery.py as Celery's Django guide shows, and load it in "
                "<project>/__init__.py: from .celery import app as celery_app",
                id="durableflows.E007",
            )
        ]
    broker = str(current_app.conf.broker_url or "")
    if broker.startswith(("redis://", "rediss://", "sentinel://")) and importlib.util.find_spec("redis") is None:
        return [
            checks.Error(
                f"the broker {broker.split('://')[0]}:// needs the Redis client, which is not installed",
                hint="pip install redis (durableflows declares it; was it installed with --no-deps?)",
                id="durableflows.E006",
            )
        ]
    return []


def _check_connections() -> list[checks.CheckMessage]:
    """Settings that workers need to be fast: kept connections, and SQLite's write lock taken up front."""
    from django.db import DEFAULT_DB_ALIAS, connections

    database = connections[DEFAULT_DB_ALIAS].settings_dict
    messages: list[checks.CheckMessage] = []
    if database.get("CONN_MAX_AGE") == 0 and database.get("NAME") != ":memory:":
        messages.append(
            checks.Warning(
                "CONN_MAX_AGE is 0: every task and every housekeeping pass in a worker opens a new database connection",
                hint='set "CONN_MAX_AGE": 60 in DATABASES["default"] (and CELERY_DB_REUSE_MAX = 1000)',
                id="durableflows.W003",
            )
        )
    if connections[DEFAULT_DB_ALIAS].vendor == "sqlite" and not _has_fast_sqlite_settings(database):
        messages.append(
            checks.Warning(
                "SQLite runs with settings that make workers wait on one another",
                hint="for several worker processes on SQLite, use in DATABASES[\"default\"]:\n"
                + SQLITE_SNIPPET,
                id="durableflows.W004",
            )
        )
    return messages


#: The SQLite settings W004 recommends: writers queue on a lock file, take the lock at BEGIN, and readers go on
#: meanwhile (WAL).
SQLITE_SNIPPET = """    "ENGINE": "durableflows.sqlite",
    "OPTIONS": {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    },"""


def _has_fast_sqlite_settings(database: dict[str, Any]) -> bool:
    options = database.get("OPTIONS") or {}
    return (
        database.get("ENGINE") == "durableflows.sqlite"
        and str(options.get("transaction_mode", "")).upper() == "IMMEDIATE"
        and "journal_mode=wal" in str(options.get("init_command", "")).lower().replace(" ", "")
    )
