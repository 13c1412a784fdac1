"""The samples as an installed app, so worker processes import them through ``workflows.py``."""

from django.apps import AppConfig


class SamplesConfig(AppConfig):
    name = "tests.samples"
    label = "durableflows_samples"
    verbose_name = "durableflows ports of Temporal's samples"
