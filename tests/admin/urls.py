"""A URLconf with a second admin site whose Order admin shows WorkflowRunInline (the demo's pattern)."""

from django.contrib import admin
from django.urls import path

from demo.models import Order
from durableflows.admin import WorkflowRunInline


class OrderWithRunsAdmin(admin.ModelAdmin):
    inlines = [WorkflowRunInline]


shop_site = admin.AdminSite(name="shop_admin")
shop_site.register(Order, OrderWithRunsAdmin)

urlpatterns = [path("admin/", admin.site.urls), path("shop-admin/", shop_site.urls)]
