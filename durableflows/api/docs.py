"""The OpenAPI document and its browsable docs page, served without any CDN.

With ``drf_spectacular_sidecar`` installed (and in ``INSTALLED_APPS``) the docs
page is Swagger UI from local static files; without it, a plain server-rendered
page lists the operations of the same document.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.shortcuts import render
from django.templatetags.static import static
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.views import APIView

#: Who may read the schema and the docs: any signed-in user (operations still check their own permissions).
DOCS_PERMISSIONS = [IsAuthenticated]
SCHEMA_URL_NAME = "durableflows-api:schema"


class SidecarSwaggerView(SpectacularSwaggerView):
    """Swagger UI with its assets from drf-spectacular-sidecar's static files, whatever SWAGGER_UI_DIST says."""

    permission_classes = DOCS_PERMISSIONS
    url_name = SCHEMA_URL_NAME

    @staticmethod
    def _swagger_ui_resource(filename: str) -> str:
        return static(f"drf_spectacular_sidecar/swagger-ui-dist/{filename}")

    @staticmethod
    def _swagger_ui_favicon() -> str:
        return static("drf_spectacular_sidecar/swagger-ui-dist/favicon-32x32.png")


class PlainDocsView(APIView):
    """The operations of the OpenAPI document as a plain HTML page (no scripts, no external assets)."""

    permission_classes = DOCS_PERMISSIONS

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Any:
        schema = SchemaGenerator(urlconf=None).get_schema(request=request, public=True)
        operations = [
            {"method": method.upper(), "path": path, "summary": op.get("summary", ""), "id": op.get("operationId", "")}
            for path, item in schema.get("paths", {}).items()
            for method, op in item.items()
            if isinstance(op, dict)
        ]
        return render(
            request._request,
            "durableflows/api_docs.html",
            {"info": schema.get("info", {}), "operations": operations, "schema_url": "../schema/"},
        )


def _sidecar_available() -> bool:
    return apps.is_installed("drf_spectacular_sidecar")


schema_view = SpectacularAPIView.as_view(permission_classes=DOCS_PERMISSIONS)
docs_view = SidecarSwaggerView.as_view() if _sidecar_available() else PlainDocsView.as_view()
