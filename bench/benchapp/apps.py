"""A Django app holding the benchmark's workflow, activities and plain Celery tasks."""
from django.apps import AppConfig


class BenchAppConfig(AppConfig):
    name = "bench.benchapp"
    label = "durableflows_bench"
    verbose_name = "durableflows benchmark"
