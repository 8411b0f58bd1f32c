from django.contrib import admin
from django.urls import include, path, re_path
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from vams.api import views as api_views

urlpatterns = [
    path("admin/", admin.site.urls),
    re_path(r"^auth/token/?$", TokenObtainPairView.as_view(), name="token-obtain"),
    re_path(r"^auth/token/refresh/?$", TokenRefreshView.as_view(), name="token-refresh"),
    path("", include("workflows.urls")),
    path("", include("executions.urls")),
    path("", include("vams.api.schema_urls")),
]

handler404 = api_views.not_found
handler500 = api_views.server_error
