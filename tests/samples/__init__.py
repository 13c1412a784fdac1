"""Temporal's Python samples, ported to durableflows and written as a user would write them.

Each sample module holds the workflows and activities (``import durableflows as df`` only); its
``test_`` module runs it in the testing toolkit and on real Celery workers. The package is also a
Django app (``tests.settings`` installs it) so that worker processes register every sample.
"""
