"""A Django app holding the workflows and activities of the integration tests.

It is installed only by ``tests/settings.py``, so both the test process and the
Celery workers it spawns import its ``workflows.py`` (durableflows loads every
installed app's ``workflows`` module at startup).
"""
