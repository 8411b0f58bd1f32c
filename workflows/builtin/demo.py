"""The demo catalog: a database, an asset made from real files, and a workflow.

The files come from matplotlib's bundled sample data, so nothing third-party
is stored in this repository: the photograph ``grace_hopper.jpg`` and the
elevation grid ``jacksboro_fault_dem.npz``, which becomes a terrain mesh (OBJ
with vertex colours). The workflow ``convert-and-preview`` chains the three
built-in pipelines: convert to GLB, render a thumbnail, extract metadata.
"""

import json
import logging
from dataclasses import dataclass

import numpy as np
import trimesh
from django.db import transaction
from matplotlib import cbook, colormaps

from vams import assets
from vams.aws import s3
from vams.models import GLOBAL, Asset, AssetFile, Database
from workflows.builtin.pipelines import BUILTIN_PIPELINES
from workflows.models import Pipeline, Workflow
from workflows.services import function_entry_for, workflow_create_or_update

logger = logging.getLogger(__name__)

DEMO_DATABASE_ID = "demo"
DEMO_ASSET_ID = "demo-terrain-and-photo"
DEMO_WORKFLOW_ID = "convert-and-preview"
DEMO_MESH_PATH = "terrain/jacksboro_fault_dem.obj"
DEMO_IMAGE_PATH = "photos/grace_hopper.jpg"
# Heights are stretched so the relief shows in a thumbnail of a 30 km wide area.
TERRAIN_HEIGHT_EXAGGERATION = 4.0
# Every third grid point: 15,525 vertices, 30,552 triangles, a 1.8 MB OBJ.
TERRAIN_GRID_STRIDE = 3
METRES_PER_DEGREE_LATITUDE = 110_540.0
METRES_PER_DEGREE_LONGITUDE_AT_EQUATOR = 111_320.0


@dataclass(frozen=True)
class DemoCatalog:
    database: Database
    asset: Asset
    workflow: Workflow
    mesh_key: str
    image_key: str


def terrain_obj_bytes(stride: int = TERRAIN_GRID_STRIDE) -> bytes:
    """Build the terrain mesh from matplotlib's Jacksboro fault elevation grid.

    The grid is in degrees (``dx``, ``dy``) with heights in metres, so it is
    scaled to metres around its mean latitude. The mesh is y-up, as in glTF.
    """
    with np.load(
        cbook.get_sample_data("jacksboro_fault_dem.npz", asfileobj=False)
    ) as grid:
        elevation = np.asarray(grid["elevation"], dtype=np.float64)[::stride, ::stride]
        latitude = np.radians((float(grid["ymin"]) + float(grid["ymax"])) / 2)
        step_x = (
            float(grid["dx"])
            * stride
            * METRES_PER_DEGREE_LONGITUDE_AT_EQUATOR
            * np.cos(latitude)
        )
        step_z = float(grid["dy"]) * stride * METRES_PER_DEGREE_LATITUDE
    rows, columns = elevation.shape
    z, x = np.mgrid[0:rows, 0:columns]
    vertices = np.column_stack(
        [
            x.ravel() * step_x,
            elevation.ravel() * TERRAIN_HEIGHT_EXAGGERATION,
            z.ravel() * step_z,
        ]
    )
    vertices -= vertices.mean(axis=0)

    corner = (z[:-1, :-1] * columns + x[:-1, :-1]).ravel()
    faces = np.vstack(
        [
            np.column_stack([corner, corner + columns, corner + 1]),
            np.column_stack([corner + 1, corner + columns, corner + columns + 1]),
        ]
    )
    span = float(np.ptp(elevation)) or 1.0
    colors = colormaps["terrain"]((elevation.ravel() - elevation.min()) / span)
    mesh = trimesh.Trimesh(
        vertices=vertices,
        faces=faces,
        vertex_colors=(colors * 255).astype(np.uint8),
        process=False,
    )
    return mesh.export(file_type="obj").encode()


def photograph_bytes() -> bytes:
    with cbook.get_sample_data("grace_hopper.jpg") as photo:
        return photo.read()


def seed_demo(*, user) -> DemoCatalog:
    """Create the demo database, asset, files and workflow where missing.

    Safe to run again: files already on the asset are kept (their S3 objects
    restored when missing, without starting auto-triggered workflows), and the workflow
    is saved again so its state machine uses the current pipeline queues.
    Requires the built-in pipelines (``register_builtin_pipelines``).
    """
    database = _ensure_database()
    asset = _ensure_asset(database)
    mesh = _ensure_file(asset, DEMO_MESH_PATH, terrain_obj_bytes, user)
    image = _ensure_file(asset, DEMO_IMAGE_PATH, photograph_bytes, user)
    workflow = workflow_create_or_update(
        data=demo_workflow_body(database.database_id), user=user
    )
    logger.info(
        "Seeded demo database_id=%s asset_id=%s workflow_id=%s",
        database.database_id,
        asset.asset_id,
        workflow.workflow_id,
    )
    return DemoCatalog(
        database=database,
        asset=asset,
        workflow=workflow,
        mesh_key=mesh.key,
        image_key=image.key,
    )


def demo_workflow_body(database_id: str) -> dict:
    """Return the PUT /workflows body of ``convert-and-preview`` in ``database_id``."""
    return {
        "workflowId": DEMO_WORKFLOW_ID,
        "databaseId": database_id,
        "description": "Convert a mesh to GLB, render a PNG preview and extract metadata",
        "specifiedPipelines": {
            "functions": [
                _function_entry(pipeline.pipeline_id) for pipeline in BUILTIN_PIPELINES
            ]
        },
        "autoTriggerOnFileExtensionsUpload": "",
    }


def _function_entry(pipeline_id: str) -> dict:
    pipeline = Pipeline.objects.get(database_id=GLOBAL, pipeline_id=pipeline_id)
    return function_entry_for(pipeline)


def _ensure_database() -> Database:
    database = Database.objects.filter(database_id=DEMO_DATABASE_ID).first()
    if database is None:
        database = Database(
            database_id=DEMO_DATABASE_ID,
            description="Demo database with sample files from matplotlib",
        )
        database.full_clean()
        database.save()
    return database


def _ensure_asset(database: Database) -> Asset:
    with transaction.atomic():
        asset = Asset.objects.filter(database=database, asset_id=DEMO_ASSET_ID).first()
        if asset is None:
            asset = Asset(
                database=database,
                asset_id=DEMO_ASSET_ID,
                asset_name="Jacksboro fault terrain and Grace Hopper photograph",
                description=(
                    f"Terrain heights exaggerated {TERRAIN_HEIGHT_EXAGGERATION:g}x; "
                    "both from matplotlib's sample data"
                ),
                tags=["demo"],
            )
            asset.full_clean()
            asset.save()
    return asset


def _ensure_file(asset: Asset, relative_path: str, content, user) -> AssetFile:
    """Add the file to the asset, or put a recorded file's missing object back in S3.

    Only a new file goes through ``asset_file_add``, so auto-triggered
    workflows start once, when the demo is first seeded. The embedded emulator
    keeps S3 in memory, so after a restart the rows remain and the objects are
    restored here with the same content.
    """
    key = asset.base_key + relative_path
    existing = AssetFile.objects.filter(asset=asset, key=key).first()
    if existing is None:
        return assets.asset_file_add(
            asset=asset, relative_path=relative_path, content=content(), user=user
        )
    if s3.head_object(bucket=asset.bucket_name, key=key) is None:
        s3.put_object(
            bucket=asset.bucket_name,
            key=key,
            body=content(),
            content_type=existing.content_type,
        )
        logger.info("Restored demo file asset_id=%s key=%s", asset.asset_id, key)
    return existing


def demo_execute_command(base_url: str, token: str) -> str:
    """Return a curl command that runs the demo workflow on the demo mesh, or ""
    when the demo has not been seeded."""
    asset = Asset.objects.filter(
        database_id=DEMO_DATABASE_ID, asset_id=DEMO_ASSET_ID
    ).first()
    if (
        asset is None
        or not Workflow.objects.filter(
            database_id=DEMO_DATABASE_ID, workflow_id=DEMO_WORKFLOW_ID
        ).exists()
    ):
        return ""
    body = json.dumps(
        {
            "workflowDatabaseId": DEMO_DATABASE_ID,
            "fileKey": asset.base_key + DEMO_MESH_PATH,
        }
    )
    return (
        f"curl -s -X POST {base_url}/database/{DEMO_DATABASE_ID}/assets/{DEMO_ASSET_ID}"
        f"/workflows/{DEMO_WORKFLOW_ID} -H 'Authorization: Bearer {token}' "
        f"-H 'Content-Type: application/json' -d '{body}'"
    )
