"""Settings for the benchmark: the project's settings plus ``bench.benchapp`` and a Redis result backend.

``bench/run.py`` and the Celery workers it starts both use this module, so the
benchmark's workflow, activities and plain Celery tasks are registered on both
sides while the demo project never installs them.
"""

import json
import os

from project.settings import *  # noqa: F403
from project.settings import CELERY_BROKER_URL, DURABLEFLOWS, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.benchapp"]

# Like a production deployment: DEBUG off (DEBUG=True makes Django keep every query in memory).
DEBUG = os.environ.get("DJANGO_DEBUG", "0") == "1"

# Only the last task of the baseline chain stores a result (the chain's "workflow result").
# durableflows' own tasks keep ignore_result=True, so this backend costs them nothing.
CELERY_RESULT_BACKEND = os.environ.get("BENCH_RESULT_BACKEND", CELERY_BROKER_URL)

# bench/retention.py gives its workers a retention period (JSON: {"RETENTION": seconds, ...}).
DURABLEFLOWS = {**DURABLEFLOWS, **json.loads(os.environ.get("BENCH_DURABLEFLOWS", "{}"))}
