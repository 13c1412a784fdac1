"""The demo's one model: an order whose fulfilment runs as a durable workflow."""
from __future__ import annotations

from django.db import models


class Order(models.Model):
    class Status(models.TextChoices):
        NEW = "new", "New"
        RESERVED = "reserved", "Stock reserved"
        CHARGED = "charged", "Card charged"
        SHIPPED = "shipped", "Shipped"
        REFUNDED = "refunded", "Refunded"
        CANCELLED = "cancelled", "Cancelled"

    customer = models.CharField(max_length=100)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"Order #{self.pk} ({self.customer}, {self.amount})"

    @property
    def workflow_id(self) -> str:
        """The id of the workflow that fulfils this order."""
        return f"order-{self.pk}"
