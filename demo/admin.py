from django.contrib import admin

from durableflows.admin import WorkflowRunInline

from .models import Order, Stock


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["id", "customer", "amount", "status", "created"]
    list_filter = ["status"]
    search_fields = ["customer"]
    readonly_fields = ["created"]
    inlines = [WorkflowRunInline]  # the order's workflow runs (started with subject=order)


@admin.register(Stock)
class StockAdmin(admin.ModelAdmin):
    list_display = ["sku", "quantity"]
