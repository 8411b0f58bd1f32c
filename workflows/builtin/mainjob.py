"""The main job, end to end: files in, workflow runs through the API, outputs checked.

``scripts/run_main_job.py`` drives this module. It starts the service in one
process: the AWS emulator, the API on a loopback port, the pipeline worker and
the output consumer. Then it adds files to an asset and starts
``convert-and-preview`` on each file with ``POST
/database/<db>/assets/<asset>/workflows/<workflow>``. It polls the executions
route until every run stops and checks the outputs: the GLB loads with
trimesh, the PNG opens with Pillow, and both are asset files.
"""

import io
import logging
import posixpath
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
import trimesh
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application
from PIL import Image
from rest_framework_simplejwt.tokens import AccessToken

from vams import assets
from vams.aws import s3
from vams.models import Asset, AssetFile, Database
from workflows.builtin import meshes, steps, thumbnails

logger = logging.getLogger(__name__)

POLL_INTERVAL_SECONDS = 0.5
HTTP_TIMEOUT_SECONDS = 30
# Files in a samples folder that describe the samples rather than being samples.
SAMPLE_DOCUMENTS = frozenset({"README.md", "SHA256SUMS"})
SAMPLE_DOCUMENT_FOLDERS = frozenset({"LICENSES"})
JOB_USERNAME = "main-job"


class QuietRequestHandler(WSGIRequestHandler):
    """Request handler that leaves request lines out of the job's output."""

    def log_message(self, format, *args) -> None:  # noqa: A002 - the base class's name
        logger.debug(format, *args)


@dataclass
class ApiServer:
    server: ThreadedWSGIServer
    thread: threading.Thread

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def start_api_server() -> ApiServer:
    """Serve the Django application on a free loopback port in a daemon thread."""
    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietRequestHandler)
    server.set_app(get_wsgi_application())
    thread = threading.Thread(
        target=server.serve_forever, name="api-server", daemon=True
    )
    thread.start()
    return ApiServer(server=server, thread=thread)


def job_user():
    """Return the superuser the job acts as, created on first use."""
    user, created = get_user_model().objects.get_or_create(
        username=JOB_USERNAME, defaults={"is_superuser": True, "is_staff": True}
    )
    if created:
        user.set_unusable_password()
        user.save()
    return user


class ApiClient:
    """A bearer-token client for the Workflows API on ``base_url``."""

    def __init__(self, base_url: str, user) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {AccessToken.for_user(user)}"

    def execute(
        self,
        *,
        database_id: str,
        asset_id: str,
        workflow_id: str,
        workflow_database_id: str,
        file_key: str,
    ) -> str:
        """Start the workflow on one file and return the execution id."""
        response = self.session.post(
            f"{self.base_url}/database/{database_id}/assets/{asset_id}/workflows/{workflow_id}",
            json={"workflowDatabaseId": workflow_database_id, "fileKey": file_key},
            timeout=HTTP_TIMEOUT_SECONDS,
        )
        if response.status_code != 200:
            raise JobError(
                f"Starting {workflow_id} on {file_key} failed with HTTP "
                f"{response.status_code}: {response.text[:300]}"
            )
        return response.json()["message"]

    def executions(
        self,
        *,
        database_id: str,
        asset_id: str,
        workflow_id: str,
        workflow_database_id: str,
    ) -> list[dict]:
        """Return every execution of the workflow on the asset, finished ones included."""
        items = []
        params = {"history": "true", "workflowDatabaseId": workflow_database_id}
        while True:
            response = self.session.get(
                f"{self.base_url}/database/{database_id}/assets/{asset_id}"
                f"/workflows/executions/{workflow_id}",
                params=params,
                timeout=HTTP_TIMEOUT_SECONDS,
            )
            if response.status_code != 200:
                raise JobError(
                    f"Listing executions failed with HTTP {response.status_code}: "
                    f"{response.text[:300]}"
                )
            page = response.json()["message"]
            items.extend(page["Items"])
            if not page.get("NextToken"):
                return items
            params["startingToken"] = page["NextToken"]


class JobError(Exception):
    """Error that stops the job. Its message names the step that failed."""


@dataclass
class RunResult:
    file: str
    workflow: str
    execution_id: str = ""
    status: str = "NOT_STARTED"
    seconds: float = 0.0
    error: str = ""
    cause: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def outputs_ok(self) -> bool:
        return self.status == "SUCCEEDED" and not self.problems


def add_files(asset: Asset, files: dict[str, bytes], user) -> None:
    """Add each ``relative path -> content`` to the asset through the file service."""
    for relative_path, content in files.items():
        assets.asset_file_add(
            asset=asset, relative_path=relative_path, content=content, user=user
        )


def ensure_asset(database_id: str, asset_id: str, name: str) -> Asset:
    database, _ = Database.objects.get_or_create(
        database_id=database_id,
        defaults={"description": f"Main job database {database_id}"},
    )
    asset, _ = Asset.objects.get_or_create(
        database=database, asset_id=asset_id, defaults={"asset_name": name}
    )
    return asset


def run_workflow_on_files(
    api: ApiClient,
    asset: Asset,
    relative_paths: list[str],
    *,
    workflow_id: str,
    workflow_database_id: str,
    timeout_seconds: float,
) -> list[RunResult]:
    """Start the workflow on every file at once, wait for all, then check outputs."""
    results = {}
    started_at = {}
    for relative_path in relative_paths:
        result = RunResult(file=relative_path, workflow=workflow_id)
        result.execution_id = api.execute(
            database_id=asset.database_id,
            asset_id=asset.asset_id,
            workflow_id=workflow_id,
            workflow_database_id=workflow_database_id,
            file_key=relative_path,
        )
        result.status = "RUNNING"
        results[result.execution_id] = result
        started_at[result.execution_id] = time.monotonic()

    deadline = time.monotonic() + timeout_seconds
    pending = set(results)
    while pending and time.monotonic() < deadline:
        items = api.executions(
            database_id=asset.database_id,
            asset_id=asset.asset_id,
            workflow_id=workflow_id,
            workflow_database_id=workflow_database_id,
        )
        for item in items:
            execution_id = item["executionId"]
            if execution_id not in pending or not item.get("stopDate"):
                continue
            result = results[execution_id]
            result.status = item["executionStatus"]
            result.error = item.get("error", "")
            result.cause = item.get("cause", "")
            result.seconds = time.monotonic() - started_at[execution_id]
            pending.discard(execution_id)
        if pending:
            time.sleep(POLL_INTERVAL_SECONDS)
    for execution_id in pending:
        results[execution_id].status = "TIMED_OUT_WAITING"
        results[execution_id].seconds = time.monotonic() - started_at[execution_id]

    for result in results.values():
        if result.status == "SUCCEEDED":
            result.problems = check_outputs(asset, result.file, result.execution_id)
    return list(results.values())


def expected_outputs(relative_path: str) -> dict[str, str]:
    """Return the asset files ``convert-and-preview`` should add, by kind."""
    path = Path(relative_path)
    if steps.is_model(path):
        glb = posixpath.splitext(relative_path)[0] + ".glb"
        return {"glb": glb, "png": f"{glb}{steps.PREVIEW_FILE_MARKER}png"}
    if thumbnails.is_image(path):
        return {"png": f"{relative_path}{steps.PREVIEW_FILE_MARKER}png"}
    return {}


def check_outputs(asset: Asset, relative_path: str, execution_id: str) -> list[str]:
    """Return the problems in a succeeded run's outputs, or [] when there are none."""
    problems = []
    for kind, output_path in expected_outputs(relative_path).items():
        key = asset.base_key + output_path
        row = AssetFile.objects.filter(asset=asset, key=key).first()
        if row is None:
            problems.append(f"{output_path} is not an asset file")
            continue
        if row.execution_id != execution_id:
            problems.append(
                f"{output_path} was not written by execution {execution_id}"
            )
        content = s3.get_object_bytes(bucket=settings.VAMS_ASSET_BUCKET, key=key)
        problem = _check_glb(content) if kind == "glb" else _check_png(content)
        if problem:
            problems.append(f"{output_path}: {problem}")
    return problems


def _check_glb(content: bytes) -> str:
    try:
        scene = trimesh.load(io.BytesIO(content), file_type="glb", force="scene")
    except Exception as exc:  # noqa: BLE001 - any loader error means a bad GLB
        return f"trimesh cannot load it ({type(exc).__name__}: {exc})"
    if meshes.vertex_count(scene) == 0:
        return "the GLB contains no geometry"
    return ""


def _check_png(content: bytes) -> str:
    try:
        with Image.open(io.BytesIO(content)) as image:
            image.verify()
            if image.format != "PNG":
                return f"it is {image.format}, not PNG"
    except Exception as exc:  # noqa: BLE001 - any decoder error means a bad PNG
        return f"Pillow cannot open it ({type(exc).__name__}: {exc})"
    return ""


def sample_files(folder: Path) -> dict[str, Path]:
    """Return the data files in a samples folder by relative path, documents left out."""
    files = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(folder)
        if (
            relative.parts[0] in SAMPLE_DOCUMENT_FOLDERS
            or relative.name in SAMPLE_DOCUMENTS
        ):
            continue
        files[relative.as_posix()] = path
    return files


def format_table(results: list[RunResult]) -> str:
    """Return the results as a Markdown table: file, workflow, status, seconds, notes."""
    lines = [
        "| file | workflow | status | seconds | notes |",
        "|---|---|---|---:|---|",
    ]
    for result in results:
        notes = "; ".join(result.problems) or result.error
        if result.cause and not result.problems:
            notes = f"{result.error}: {result.cause}"
        lines.append(
            f"| {result.file} | {result.workflow} | {result.status} | "
            f"{result.seconds:.1f} | {notes.replace('|', '/')[:160]} |"
        )
    return "\n".join(lines)
