"""The Django side of durable execution: workflow tasks, activity attempts and housekeeping.

Modules: ``workflow_tasks`` (lock, replay, persist), ``activities`` (claim,
run, settle), ``closing`` (what happens when a run ends), ``housekeeping``
(timers, timeouts, redelivery), ``worker`` (the housekeeping thread in each
Celery worker), ``doorbell`` (Celery messages) and ``cache``.
"""
