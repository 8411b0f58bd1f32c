"""Execution routes. Each matches with and without a trailing slash."""

from django.urls import re_path

from executions import views

ASSET = r"^database/(?P<database_id>[^/]+)/assets/(?P<asset_id>[^/]+)/workflows"

urlpatterns = [
    re_path(
        ASSET + r"/executions/?$",
        views.AssetWorkflowExecutionsApi.as_view(),
        name="asset-workflow-executions",
    ),
    re_path(
        ASSET + r"/executions/(?P<workflow_id>[^/]+)/?$",
        views.WorkflowExecutionsApi.as_view(),
        name="workflow-executions",
    ),
    re_path(
        ASSET + r"/executions/(?P<workflow_id>[^/]+)/(?P<execution_id>[^/]+)/stop/?$",
        views.ExecutionStopApi.as_view(),
        name="execution-stop",
    ),
    re_path(
        ASSET + r"/(?P<workflow_id>[^/]+)/?$",
        views.AssetWorkflowApi.as_view(),
        name="asset-workflow-execute",
    ),
]
