"""System checks catch misconfiguration at startup."""

from datetime import timedelta

import pytest

from durableflows.checks import check_settings


def ids(messages):
    return [message.id for message in messages]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({}, []),
        ({"RETENTION": timedelta(days=30), "HOUSEKEEPING_INTERVAL": 0.5}, []),
        ({"NO_SUCH_SETTING": 1}, ["durableflows.E002"]),
        ({"HOUSEKEEPING_INTERVAL": 0}, ["durableflows.E003"]),
        ({"CACHE_MAX_EVENTS": None}, []),
        ({"CACHE_MAX_EVENTS": 0}, ["durableflows.E003"]),
        ({"CACHE_MAX_EVENTS": "1000"}, ["durableflows.E003"]),
        ({"RETENTION": "30 days"}, ["durableflows.E004"]),
        ({"RETENTION": -5}, ["durableflows.E004"]),
    ],
)
def test_durableflows_settings_are_checked(settings, value, expected):
    settings.DURABLEFLOWS = value
    assert ids(check_settings()) == expected


def test_settings_must_be_a_dict(settings):
    settings.DURABLEFLOWS = ["HOUSEKEEPING_INTERVAL"]
    assert ids(check_settings()) == ["durableflows.E001"]


def test_a_missing_broker_is_a_warning(settings):
    settings.CELERY_BROKER_URL = ""
    assert ids(check_settings()) == ["durableflows.W001"]


def test_celery_closing_connections_around_every_task_is_a_warning(settings):
    del settings.CELERY_DB_REUSE_MAX
    assert ids(check_settings()) == ["durableflows.W002"]
    settings.CELERY_DB_REUSE_MAX = 1000
    assert ids(check_settings()) == []


class _ElsewhereRouter:
    def db_for_write(self, model, **hints):
        return "other" if model._meta.app_label == "durableflows" else None

    db_for_read = db_for_write


def test_durableflows_tables_routed_away_from_the_default_database_are_an_error(settings):
    settings.DATABASE_ROUTERS = [_ElsewhereRouter()]
    assert ids(check_settings()) == ["durableflows.E005"]


def test_no_celery_app_loaded_is_an_error(monkeypatch):
    from celery import _state

    monkeypatch.setattr(_state._tls, "current_app", None)
    monkeypatch.setattr(_state, "default_app", None)  # what a project without the __init__.py import has
    assert ids(check_settings()) == ["durableflows.E007"]


def test_a_redis_broker_without_the_redis_client_is_an_error(monkeypatch):
    import importlib.util

    from celery import current_app

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "redis" else real_find_spec(name))
    monkeypatch.setitem(current_app.conf, "broker_url", "redis://127.0.0.1:6379/0")
    assert ids(check_settings()) == ["durableflows.E006"]


def test_connections_closed_after_every_task_are_a_warning(monkeypatch):
    from django.db import connection

    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    assert "durableflows.W003" in ids(check_settings())


def test_sqlite_without_the_queued_immediate_wal_settings_is_a_warning(monkeypatch):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("a check of SQLite settings")
    assert ids(check_settings()) == []  # the project's settings are the recommended ones
    monkeypatch.setitem(connection.settings_dict, "ENGINE", "django.db.backends.sqlite3")
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", {})
    [message] = check_settings()
    assert message.id == "durableflows.W004" and '"transaction_mode": "IMMEDIATE"' in message.hint
