"""Rows that the tests' activities write, to count their effects."""

from django.db import models


class Receipt(models.Model):
    """One row per run of a transactional activity's effect.

    ``key`` is deliberately not unique: a constraint would hide an effect applied twice.
    """

    key = models.CharField(max_length=200, db_index=True)
    attempt = models.PositiveIntegerField()
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.key} (attempt {self.attempt})"
