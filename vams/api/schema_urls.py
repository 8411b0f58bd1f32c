"""The OpenAPI document and Swagger UI, public so that clients can discover the API."""

from django.urls import re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

PUBLIC = {"authentication_classes": [], "permission_classes": [AllowAny]}

urlpatterns = [
    re_path(r"^api/schema/?$", SpectacularAPIView.as_view(**PUBLIC), name="api-schema"),
    re_path(
        r"^api/docs/?$",
        SpectacularSwaggerView.as_view(url_name="api-schema", **PUBLIC),
        name="api-docs",
    ),
]
