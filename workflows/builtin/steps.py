"""The built-in pipeline steps, as functions over local files.

A step receives the input files (each with its path relative to the asset, or
to the execution's files folder) and writes into three local folders that the
worker uploads to the execution's files, previews and metadata folders. A
relative path is kept, so ``models/part.obj`` converts to ``models/part.glb``.
"""

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from workflows.builtin import meshes, metadata, pointclouds, thumbnails
from workflows.builtin.errors import UnsupportedFormat

logger = logging.getLogger(__name__)

PREVIEW_FILE_MARKER = ".previewFile."
METADATA_FILE_SUFFIX = ".metadata.json"
MAX_PREVIEWS = 20
# Files that only make sense beside the model that loads them, and what to run
# the workflow on instead.
COMPANION_FILES = {
    ".mtl": "a material library for an OBJ model; run the workflow on the .obj "
    "file that references it",
    ".bin": "a binary buffer of a glTF model; run the workflow on the .gltf file "
    "that references it",
    ".lax": "a spatial index of a LAZ point cloud; run the workflow on the .laz file",
}


@dataclass(frozen=True)
class InputFile:
    path: Path
    relative_path: str

    @property
    def is_derived(self) -> bool:
        """True for preview and metadata files, which steps never process."""
        name = PurePosixPath(self.relative_path).name
        return PREVIEW_FILE_MARKER in name or name.endswith(METADATA_FILE_SUFFIX)


@dataclass(frozen=True)
class OutputFolders:
    files: Path
    previews: Path
    metadata: Path

    def create(self) -> None:
        for folder in (self.files, self.previews, self.metadata):
            folder.mkdir(parents=True, exist_ok=True)


@dataclass
class StepResult:
    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def usable_inputs(inputs: list[InputFile]) -> list[InputFile]:
    """Return the meshes, point clouds and images among ``inputs``, derived
    files left out."""
    return [
        item
        for item in inputs
        if not item.is_derived
        and (
            meshes.is_mesh(item.path)
            or pointclouds.is_point_cloud(item.path)
            or thumbnails.is_image(item.path)
        )
    ]


def is_model(path: Path) -> bool:
    """True for a mesh or point cloud, which convert and render as 3D."""
    return meshes.is_mesh(path) or pointclouds.is_point_cloud(path)


def convert_meshes(
    inputs: list[InputFile], outputs: OutputFolders, output_type: str
) -> StepResult:
    """Convert every mesh and point cloud to ``output_type`` and pass images unchanged.

    Raises UnsupportedFormat when the inputs contain no mesh, point cloud or
    image, and when a point cloud cannot be written as ``output_type``.
    """
    result = StepResult()
    candidates = usable_inputs(inputs)
    _require_candidates(inputs, candidates)
    for item in candidates:
        if not is_model(item.path):
            result.skipped.append(item.relative_path)
            continue
        target_relative = str(
            PurePosixPath(item.relative_path).with_suffix(output_type)
        )
        target = outputs.files / target_relative
        # LAS and LAZ outputs go through the point cloud writer, which takes
        # points-only mesh files (PLY point clouds) and rejects meshes with faces.
        if pointclouds.is_point_cloud(item.path) or (
            output_type in pointclouds.LAS_EXTENSIONS
        ):
            written = pointclouds.convert(item.path, target)
        else:
            written = meshes.convert(item.path, target)
        result.written.extend(_relative(path, outputs.files) for path in written)
    return result


def make_previews(inputs: list[InputFile], outputs: OutputFolders) -> StepResult:
    """Write a PNG thumbnail per mesh, point cloud or image (up to ``MAX_PREVIEWS``).

    Each goes to the files folder as ``<file>.previewFile.png``, the preview
    of that asset file. The first also goes to the previews folder, where it
    becomes the asset's preview.
    """
    result = StepResult()
    candidates = usable_inputs(inputs)
    _require_candidates(inputs, candidates)
    # Models first: a converted model makes a better asset preview than a texture.
    candidates.sort(key=lambda item: (not is_model(item.path), item.relative_path))
    for item in candidates[:MAX_PREVIEWS]:
        target = outputs.files / f"{item.relative_path}{PREVIEW_FILE_MARKER}png"
        if pointclouds.is_point_cloud(item.path):
            thumbnails.point_cloud_thumbnail(item.path, target)
        elif meshes.is_mesh(item.path):
            thumbnails.mesh_thumbnail(item.path, target)
        else:
            thumbnails.image_thumbnail(item.path, target)
        result.written.append(_relative(target, outputs.files))
    result.skipped.extend(item.relative_path for item in candidates[MAX_PREVIEWS:])

    first = outputs.files / result.written[0]
    asset_preview = (
        outputs.previews / f"{PurePosixPath(candidates[0].relative_path).stem}.png"
    )
    asset_preview.write_bytes(first.read_bytes())
    result.written.append(_relative(asset_preview, outputs.previews))
    return result


def extract_metadata(inputs: list[InputFile], outputs: OutputFolders) -> StepResult:
    """Write ``<file>.metadata.json`` for every mesh, point cloud and image."""
    result = StepResult()
    candidates = usable_inputs(inputs)
    _require_candidates(inputs, candidates)
    for item in candidates:
        document = metadata.metadata_document(metadata.extract(item.path))
        target = outputs.metadata / f"{item.relative_path}{METADATA_FILE_SUFFIX}"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(document, indent=2))
        result.written.append(_relative(target, outputs.metadata))
    return result


def _require_candidates(inputs: list[InputFile], candidates: list[InputFile]) -> None:
    if candidates:
        return
    companions = [
        item for item in inputs if item.path.suffix.lower() in COMPANION_FILES
    ]
    if len(companions) == len(inputs) == 1:
        item = companions[0]
        raise UnsupportedFormat(
            f"{item.path.name} is {COMPANION_FILES[item.path.suffix.lower()]}."
        )
    names = ", ".join(item.relative_path for item in inputs[:5]) or "(no files)"
    raise UnsupportedFormat(
        f"No mesh, point cloud or image to process in {names}; supported meshes "
        f"are {', '.join(sorted(meshes.MESH_EXTENSIONS))}, point clouds "
        f"{', '.join(sorted(pointclouds.POINT_CLOUD_EXTENSIONS))} and images "
        f"{', '.join(sorted(thumbnails.IMAGE_EXTENSIONS))}."
    )


def _relative(path: Path, folder: Path) -> str:
    return path.relative_to(folder).as_posix()


STEPS = {
    "convert_meshes": lambda inputs, outputs, output_type: convert_meshes(
        inputs, outputs, output_type
    ),
    "make_previews": lambda inputs, outputs, output_type: make_previews(
        inputs, outputs
    ),
    "extract_metadata": lambda inputs, outputs, output_type: extract_metadata(
        inputs, outputs
    ),
}


def run_step(
    step: str, inputs: list[InputFile], outputs: OutputFolders, output_type: str
) -> StepResult:
    """Run the step named ``step`` (a key of ``STEPS``)."""
    return STEPS[step](inputs, outputs, output_type)
