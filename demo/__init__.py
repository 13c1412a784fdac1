"""The demo app: orders fulfilled by a durable workflow (see workflows.py)."""
