from tests.api.support import failed, nobody, operator, superuser, viewer, waiting  # noqa: F401
