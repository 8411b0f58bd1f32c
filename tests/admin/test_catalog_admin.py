from django.urls import reverse

from tests.factories import make_asset, make_database
from vams.models import AssetFile


def test_database_changelist_lists_databases(admin_client):
    make_database("db-alpha")

    response = admin_client.get(reverse("admin:vams_database_changelist"))

    assert response.status_code == 200
    assert "db-alpha" in response.content.decode()


def test_database_change_keeps_id_read_only(admin_client):
    database = make_database("db-alpha")

    response = admin_client.get(
        reverse("admin:vams_database_change", args=[database.pk])
    )

    assert response.status_code == 200
    assert 'name="database_id"' not in response.content.decode()


def test_asset_change_lists_files_read_only(admin_client):
    asset = make_asset(asset_id="chair")
    AssetFile.objects.create(asset=asset, key="chair/models/seat.obj", size=12)

    response = admin_client.get(reverse("admin:vams_asset_change", args=[asset.pk]))

    body = response.content.decode()
    assert response.status_code == 200
    assert "chair/models/seat.obj" in body
    assert 'name="files-0-key"' not in body


def test_database_changelist_forbidden_without_rule(curator_client):
    make_database("db-alpha")

    response = curator_client.get(reverse("admin:vams_database_changelist"))

    assert response.status_code == 403


def asset_form_data(asset, **overrides) -> dict:
    data = {
        "database": asset.database_id,
        "asset_id": asset.asset_id,
        "asset_name": asset.asset_name,
        "description": asset.description,
        "asset_type": asset.asset_type,
        "tags": "[]",
        "base_key": asset.base_key,
        "preview_key": "",
        "upload_path": "",
        "files-TOTAL_FORMS": "0",
        "files-INITIAL_FORMS": "0",
        "files-MIN_NUM_FORMS": "0",
        "files-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def test_asset_upload_stores_file_in_s3(admin_client):
    from django.conf import settings
    from django.core.files.uploadedfile import SimpleUploadedFile

    from vams.aws import s3

    asset = make_asset(asset_id="chair")
    upload = SimpleUploadedFile("seat.obj", b"v 0 0 0\n", content_type="text/plain")

    response = admin_client.post(
        reverse("admin:vams_asset_change", args=[asset.pk]),
        asset_form_data(asset, upload=upload, upload_path="models/seat.obj"),
        follow=True,
    )

    assert response.status_code == 200
    assert "Uploaded chair/models/seat.obj." in response.content.decode()
    assert AssetFile.objects.filter(asset=asset, key="chair/models/seat.obj").exists()
    stored = s3.get_object_bytes(
        bucket=settings.VAMS_ASSET_BUCKET, key="chair/models/seat.obj"
    )
    assert stored == b"v 0 0 0\n"


def test_asset_upload_shows_service_message(admin_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    asset = make_asset(asset_id="chair")
    upload = SimpleUploadedFile("seat.obj", b"v 0 0 0\n")

    response = admin_client.post(
        reverse("admin:vams_asset_change", args=[asset.pk]),
        asset_form_data(asset, upload=upload, upload_path="../escape.obj"),
        follow=True,
    )

    assert "is invalid: use a relative path" in response.content.decode()
    assert AssetFile.objects.filter(asset=asset).exists() is False


def test_database_bulk_delete_checks_each_row(curator, curator_client):
    from authz.services import grant
    from tests.admin.rules import allow
    from vams.models import Database

    make_database("db-mine")
    make_database("db-other")
    allow(curator, "api", ["GET", "DELETE"])
    allow(curator, "database", ["GET"])
    grant(
        curator,
        object_type="database",
        actions=["DELETE"],
        criteria_and=[("databaseId", "equals", "db-mine")],
    )

    response = curator_client.post(
        reverse("admin:vams_database_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": ["db-mine", "db-other"],
            "post": "yes",
        },
    )

    assert response.status_code == 403
    assert Database.objects.filter(database_id="db-other").exists() is True
    assert Database.objects.filter(database_id="db-mine").exists() is True
