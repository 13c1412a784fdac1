"""Task tokens: the opaque, URL-safe name of one attempt of one activity, for completing it from anywhere.

A token is ``<run id>.<activity id>.<attempt>`` signed with Django's ``SECRET_KEY`` (salted for this
use only), so no table or column backs it and no attempt pays a write for it; a token cannot be
forged or edited into another run's or attempt's without the key. The ids it carries are not secret
(the API shows them): the signature, not secrecy, is what protects it. Rotating ``SECRET_KEY``
invalidates open tokens unless the old key stays in ``SECRET_KEY_FALLBACKS``.
"""

from __future__ import annotations

import dataclasses
import uuid

from django.core import signing

from .errors import ActivityNotFound

SALT = "durableflows.activity-task-token"
#: Longer strings are refused before any signature is computed.
MAX_LENGTH = 200


@dataclasses.dataclass(frozen=True)
class AttemptRef:
    """What a verified token names: one attempt of the activity ``activity_id`` of the run ``run_id``."""

    run_id: uuid.UUID
    activity_id: int
    attempt: int


def make(run_id: uuid.UUID | str, activity_id: int, attempt: int) -> str:
    """The task token of an attempt."""
    run_hex = run_id.hex if isinstance(run_id, uuid.UUID) else uuid.UUID(str(run_id)).hex
    return signing.Signer(salt=SALT).sign(f"{run_hex}.{activity_id}.{attempt}")


def parse(token: object) -> AttemptRef:
    """The attempt a token names; ``df.ActivityNotFound`` if it is not one this deployment signed."""
    if not isinstance(token, str) or not token or len(token) > MAX_LENGTH:
        raise ActivityNotFound("not an activity task token")
    try:
        value = signing.Signer(salt=SALT).unsign(token)
    except signing.BadSignature:
        raise ActivityNotFound("not an activity task token (its signature does not verify)") from None
    try:
        run_hex, activity_id, attempt = value.split(".")
        return AttemptRef(uuid.UUID(hex=run_hex), int(activity_id), int(attempt))
    except ValueError:
        raise ActivityNotFound("not an activity task token") from None
