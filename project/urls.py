"""URLs of the demo project: the admin, durableflows' REST API, and the demo page."""
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("durableflows.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),  # the admin theme's language chooser
    path("", include("demo.urls")),
]
