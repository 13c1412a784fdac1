"""URLs of the demo project: the admin, the demo page, and durableflows' REST API when installed."""
from importlib.util import find_spec

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("demo.urls")),
]

if find_spec("durableflows.api") is not None and find_spec("durableflows.api.urls") is not None:
    urlpatterns.insert(1, path("api/", include("durableflows.api.urls")))
