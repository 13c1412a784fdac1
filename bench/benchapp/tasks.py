"""The baseline contender: three plain Celery tasks, run as ``chain(t1.s(0), t2.s(), t3.s())``.

The first two ignore their results like the project's default; the last one
stores its result in the Redis result backend, which is how the benchmark sees
that a chain has finished (and when: the stored ``date_done``).
"""
from celery import shared_task


@shared_task(name="bench.t1", ignore_result=True)
def t1(value: int) -> int:
    return value + 1


@shared_task(name="bench.t2", ignore_result=True)
def t2(value: int) -> int:
    return value + 1


@shared_task(name="bench.t3", ignore_result=False)
def t3(value: int) -> int:
    return value + 1
