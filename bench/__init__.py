"""The throughput/latency benchmark: durableflows vs a plain Celery chain (never part of the test suite)."""
