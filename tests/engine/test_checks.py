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
