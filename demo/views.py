"""The demo page: create orders, watch their workflows, approve or reject them."""
from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

import durableflows as df

from .models import Order
from .workflows import fulfil_order


def _workflow_row(order: Order) -> dict[str, Any]:
    """What the page shows about an order's workflow, read through the public client API."""
    row: dict[str, Any] = {"order": order, "status": None, "stage": "", "outcome": "", "open": False}
    try:
        handle = df.get_handle(order.workflow_id)
    except df.WorkflowNotFound:
        row["outcome"] = "no workflow"
        return row
    status = df.Status(handle.status)
    row.update(status=status.value, open=status.is_open, stage=handle.vars().get("stage", ""))
    if status == df.Status.COMPLETED:
        row["outcome"] = json.dumps(handle.result(timeout=1), ensure_ascii=False, cls=DjangoJSONEncoder)
    elif not status.is_open:
        try:
            handle.result(timeout=1)
        except df.WorkflowFailed as failed:
            row["outcome"] = f"{failed.type}: {failed.message}" if failed.type else str(failed)
    return row


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    rows = [_workflow_row(order) for order in Order.objects.all()[:20]]
    return render(
        request,
        "demo/index.html",
        {"rows": rows, "any_open": any(row["open"] for row in rows), "card_limit": "1000.00"},
    )


@require_POST
def create_order(request: HttpRequest) -> HttpResponse:
    customer = request.POST.get("customer", "").strip() or "Ada"
    try:
        amount = Decimal(request.POST.get("amount", "") or "42.00").quantize(Decimal("0.01"))
    except InvalidOperation:
        messages.error(request, "The amount must be a number.")
        return redirect("demo:index")
    if amount <= 0:
        messages.error(request, "The amount must be positive.")
        return redirect("demo:index")
    # The order row and the workflow start commit together, or not at all.
    with transaction.atomic():
        order = Order.objects.create(customer=customer[:100], amount=amount)
        df.start(fulfil_order, order.id, id=order.workflow_id, subject=order)
    messages.success(request, f"Order #{order.id} created; workflow {order.workflow_id} started.")
    return redirect("demo:index")


@require_POST
def decide(request: HttpRequest, order_id: int) -> HttpResponse:
    order = get_object_or_404(Order, pk=order_id)
    approved = request.POST.get("approved") == "1"
    by = request.user.get_username() if request.user.is_authenticated else "the demo page"
    try:
        df.get_handle(order.workflow_id).signal("approve", {"approved": approved, "by": by})
    except df.WorkflowNotFound:
        messages.error(request, f"Order #{order.id} has no workflow.")
    else:
        messages.success(request, f"Order #{order.id} {'approved' if approved else 'rejected'}.")
    return redirect("demo:index")
