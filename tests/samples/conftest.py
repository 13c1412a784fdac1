"""The samples run on real workers too: the integration harness's fixtures."""

from tests.integration.conftest import worker_env, workers  # noqa: F401
