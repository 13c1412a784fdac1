"""The samples run on real workers too: the integration harness's fixtures."""

from tests.integration.conftest import gate_dir, worker_env, workers  # noqa: F401
