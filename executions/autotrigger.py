"""Start the workflows whose auto-trigger extensions match a newly added asset file.

Candidates are the live workflows of the asset's database and the live GLOBAL
workflows. Each match starts through ``execution_start`` as the uploading user,
on the file's full S3 key (so files at the asset root match too). One failed
start is logged and counted, and the other workflows still start. Files under
pipeline, preview, temporary-upload or workspace folders never trigger.
"""

import logging
from dataclasses import dataclass, field

from executions.services import execution_start
from vams.assets import file_extension
from vams.exceptions import DomainError
from vams.models import GLOBAL, AssetFile
from workflows.models import Workflow
from workflows.validation import ALL_EXTENSIONS, parse_auto_trigger_extensions

logger = logging.getLogger(__name__)

TRIGGER_SOURCE = "auto-trigger"
# A key with any segment starting with one of these never auto-triggers
# ("preview" also covers "previews" and "preview-set").
SKIPPED_SEGMENT_PREFIXES = ("pipeline", "preview", "temp-upload", "workspace")
PREVIEW_FILE_MARKER = ".previewFile."


@dataclass
class TriggerSummary:
    workflows_found: int = 0
    workflows_triggered: int = 0
    workflows_succeeded: int = 0
    workflows_failed: int = 0
    # (workflow database id, workflow id, execution id or error message)
    results: list[tuple[str, str, str]] = field(default_factory=list)


def is_trigger_excluded(key: str) -> bool:
    """Return True for keys of previews, pipeline outputs, temporary uploads and workspaces."""
    if PREVIEW_FILE_MARKER in key:
        return True
    segments = key.lower().split("/")
    return any(segment.startswith(SKIPPED_SEGMENT_PREFIXES) for segment in segments)


def workflow_matches(auto_trigger: str | None, key: str) -> bool:
    """Return True when a file at ``key`` triggers a workflow with this auto-trigger setting.

    The extension is the text after the last dot of the file name, lower-cased.
    A file without one matches only ``all``.
    """
    extensions = parse_auto_trigger_extensions(auto_trigger)
    if extensions is ALL_EXTENSIONS:
        return True
    extension = file_extension(key)
    return bool(extension) and extension in extensions


def asset_file_added(asset_file: AssetFile, *, user) -> TriggerSummary:
    """Start every matching workflow on ``asset_file`` as ``user``.

    A failed start is logged and counted in the summary, and the next workflow
    still starts.
    """
    summary = TriggerSummary()
    asset = asset_file.asset
    if is_trigger_excluded(asset_file.key):
        return summary
    candidates = Workflow.objects.filter(
        database_id__in=[asset.database_id, GLOBAL]
    ).exclude(auto_trigger_on_file_extensions_upload="").order_by("database_id", "workflow_id")
    for workflow in candidates:
        summary.workflows_found += 1
        if not workflow_matches(workflow.auto_trigger_on_file_extensions_upload, asset_file.key):
            continue
        summary.workflows_triggered += 1
        try:
            execution = execution_start(
                database_id=asset.database_id,
                asset_id=asset.asset_id,
                workflow_id=workflow.workflow_id,
                workflow_database_id=workflow.database_id,
                file_key=asset_file.key,
                user=user,
                trigger_source=TRIGGER_SOURCE,
            )
        except DomainError as error:
            summary.workflows_failed += 1
            summary.results.append((workflow.database_id, workflow.workflow_id, error.message))
            logger.warning(
                "Auto-trigger failed workflow=%s/%s key=%s code=%s: %s",
                workflow.database_id,
                workflow.workflow_id,
                asset_file.key,
                error.code,
                error.message,
            )
            continue
        except Exception as error:  # noqa: BLE001 - one broken start must not stop the others
            summary.workflows_failed += 1
            summary.results.append((workflow.database_id, workflow.workflow_id, str(error)))
            logger.exception(
                "Auto-trigger failed workflow=%s/%s key=%s",
                workflow.database_id,
                workflow.workflow_id,
                asset_file.key,
            )
            continue
        summary.workflows_succeeded += 1
        summary.results.append(
            (workflow.database_id, workflow.workflow_id, str(execution.execution_id))
        )
    logger.info(
        "Auto-trigger key=%s found=%d triggered=%d succeeded=%d failed=%d",
        asset_file.key,
        summary.workflows_found,
        summary.workflows_triggered,
        summary.workflows_succeeded,
        summary.workflows_failed,
    )
    return summary
