"""Turning client errors into HTTP answers: 400 field-level, 404, 409 and 413."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, ValidationError

from ..errors import (
    InvalidArguments,
    NonDeterminismError,
    QueryNotFound,
    SerializationError,
    UnknownWorkflowError,
    UpdateFailed,
    UpdateRejected,
    WorkflowAlreadyExists,
    WorkflowNotFound,
)


class Conflict(APIException):
    """409: the request clashes with the workflow's current state (an open run with that id, a closed run)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the workflow."
    default_code = "conflict"


class UpdateRejectedError(APIException):
    """400: the workflow's validator refused the update; nothing was recorded."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "update_rejected"


class UpdateFailedError(APIException):
    """422: the update was accepted, but its handler raised (or the run closed before it finished)."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "update_failed"


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


@contextlib.contextmanager
def client_errors(
    *, values_field: str = "args", name_field: str = "name", workflow_field: str | None = None
) -> Iterator[None]:
    """Translate what the client raises into DRF exceptions.

    ``values_field`` names the body field whose values a ``SerializationError``
    is about, ``name_field`` the field an unknown query name is about. An unknown
    workflow name is the caller's mistake (400 on ``workflow_field``) when it named
    the workflow, else the deployment's (409: the run's code is not registered here).
    """
    try:
        yield
    except UnknownWorkflowError as exc:
        if workflow_field:
            raise ValidationError({workflow_field: [str(exc)]}) from None
        raise Conflict(f"the workflow's code is not registered in this process: {exc}") from None
    except WorkflowAlreadyExists as exc:
        raise Conflict({"detail": str(exc), "workflow_id": exc.workflow_id, "run_id": exc.run_id}) from None
    except (SerializationError, InvalidArguments) as exc:
        raise ValidationError({values_field: [str(exc)]}) from None
    except QueryNotFound as exc:
        raise ValidationError({name_field: [str(exc)]}) from None
    except WorkflowNotFound as exc:
        raise NotFound(str(exc)) from None
    except NonDeterminismError as exc:
        raise Conflict(f"the run cannot be replayed by the deployed code: {exc}") from None
    except UpdateRejected as exc:
        raise UpdateRejectedError({"detail": exc.message, "type": exc.type}) from None
    except UpdateFailed as exc:
        raise UpdateFailedError({"detail": str(exc), "type": exc.type, "message": exc.message}) from None


@contextlib.contextmanager
def no_open_run_is_conflict() -> Iterator[None]:
    """Around an operation on a workflow known to exist: "no open run" is a 409, not a 404."""
    try:
        yield
    except WorkflowNotFound as exc:
        raise Conflict(str(exc)) from None
