"""The OpenAPI document and its browsable docs page, served without any CDN.

Both cover the durableflows endpoints only, with the API's own settings, whatever the
project's ``REST_FRAMEWORK`` and ``SPECTACULAR_SETTINGS`` say. With
``drf_spectacular_sidecar`` installed the docs page is Swagger UI from local static
files (both ``drf_spectacular`` and ``drf_spectacular_sidecar`` in ``INSTALLED_APPS``); without
them, a plain server-rendered page lists the operations.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.settings import patched_settings
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.views import APIView

from .policies import OwnAuthentication, extend_schema, schema_settings

SCHEMA_URL_NAME = "durableflows-api:schema"


class DurableFlowsSchemaGenerator(SchemaGenerator):
    """The project's URLs, but only the endpoints whose views belong to durableflows."""

    def _get_paths_and_endpoints(self) -> list[tuple[Any, ...]]:
        return [e for e in super()._get_paths_and_endpoints() if _is_ours(e[3])]


def _is_ours(view: Any) -> bool:
    return type(view).__module__.startswith("durableflows.") and not isinstance(view, DocsViewMixin)


# Type checkers see the mixin as the view it is mixed into; at run time it is a plain class ahead of it.

class DocsViewMixin(OwnAuthentication):
    """Signed-in users only (operations still check their own permissions); a browser is sent to sign in."""

    permission_classes = [IsAuthenticated]
    custom_settings: dict[str, Any] | None = schema_settings()

    def handle_exception(self, exc: Exception) -> Any:
        wants_html = "text/html" in self.request.headers.get("Accept", "")
        if isinstance(exc, NotAuthenticated) and wants_html and (login_url := _login_url()):
            return redirect_to_login(self.request.get_full_path(), login_url)
        return super().handle_exception(exc)


def _login_url() -> str | None:
    """The admin's sign-in page, where operators sign in (a fresh project has no other)."""
    try:
        return reverse("admin:login")
    except NoReverseMatch:
        return None


class SchemaView(DocsViewMixin, SpectacularAPIView):
    generator_class = DurableFlowsSchemaGenerator


class SidecarSwaggerView(DocsViewMixin, SpectacularSwaggerView):
    """Swagger UI with its assets from drf-spectacular-sidecar's static files, whatever SWAGGER_UI_DIST says."""

    url_name = SCHEMA_URL_NAME
    title = schema_settings()["TITLE"]

    @staticmethod
    def _swagger_ui_resource(filename: str) -> str:
        return static(f"drf_spectacular_sidecar/swagger-ui-dist/{filename}")

    @staticmethod
    def _swagger_ui_favicon() -> str:
        return static("drf_spectacular_sidecar/swagger-ui-dist/favicon-32x32.png")


class PlainDocsView(DocsViewMixin, APIView):
    """The operations of the OpenAPI document as a plain HTML page (no scripts, no external assets)."""

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Any:
        with patched_settings(self.custom_settings):
            schema = DurableFlowsSchemaGenerator().get_schema(request=request, public=True)
        operations = [
            {"method": method.upper(), "path": path, "summary": op.get("summary", ""), "id": op.get("operationId", "")}
            for path, item in schema.get("paths", {}).items()
            for method, op in item.items()
            if isinstance(op, dict)
        ]
        return render(
            request._request,
            "durableflows/api/docs.html",
            {"info": schema.get("info", {}), "operations": operations, "schema_url": reverse(SCHEMA_URL_NAME)},
        )


def _sidecar_available() -> bool:
    """Swagger UI needs drf-spectacular's template and the sidecar's static files."""
    return apps.is_installed("drf_spectacular") and apps.is_installed("drf_spectacular_sidecar")


schema_view = SchemaView.as_view()
docs_view = SidecarSwaggerView.as_view() if _sidecar_available() else PlainDocsView.as_view()
