import threading
import uuid

import pytest
from django.conf import settings
from django.db import connection

from executions.models import WorkflowExecution
from tests.executions.conftest import make_workflow
from tests.factories import client_for, make_asset, make_database, make_user
from vams.aws import s3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_execute_route_concurrent_same_file(admin_role):
    user = make_user("admin", is_superuser=True)
    asset = make_asset(make_database("db-a"), f"xc{uuid.uuid4().hex[:8]}")
    s3.put_object(bucket=settings.VAMS_ASSET_BUCKET, key=f"{asset.base_key}models/part.glb", body=b"x")
    make_workflow()
    path = f"/database/db-a/assets/{asset.asset_id}/workflows/wf-hold"
    body = {"workflowDatabaseId": "db-a", "fileKey": "models/part.glb"}
    barrier = threading.Barrier(20)
    responses = []

    def post():
        client = client_for(user)
        try:
            barrier.wait()
            responses.append(client.post(path, body, format="json"))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [400] * 19
    rejected = [response.json()["message"] for response in responses if response.status_code == 400]
    assert all("already has a running execution" in message for message in rejected)
    assert WorkflowExecution.objects.count() == 1
    assert WorkflowExecution.objects.get().status == WorkflowExecution.Status.RUNNING
