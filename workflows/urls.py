"""Workflow routes. Each route matches with and without a trailing slash."""

from django.urls import re_path

from workflows import views

urlpatterns = [
    re_path(r"^workflows/?$", views.WorkflowsApi.as_view(), name="workflows"),
    re_path(
        r"^database/(?P<database_id>[^/]+)/workflows/?$",
        views.DatabaseWorkflowsApi.as_view(),
        name="database-workflows",
    ),
    re_path(
        r"^database/(?P<database_id>[^/]+)/workflows/(?P<workflow_id>[^/]+)/?$",
        views.DatabaseWorkflowApi.as_view(),
        name="database-workflow",
    ),
]
