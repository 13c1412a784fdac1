"""A SQLite database backend for several worker processes: writers queue in the kernel, not in sleeps.

Use it as ``ENGINE = "durableflows.sqlite"`` (with ``"transaction_mode":
"IMMEDIATE"``). SQLite has one writer at a time, and a writer that finds the
database locked sleeps in growing steps (up to 100 ms) before it tries again,
so under contention most of the time goes to sleeping. Here each write
transaction first takes an exclusive ``flock`` on a file beside the database;
the kernel wakes the next writer the moment the lock is released.
"""
