"""Metadata extracted from meshes and images, and the file that carries it.

The metadata file is what the output processing reads from a pipeline's
metadata folder: ``<relative path>.metadata.json`` applies to that asset file
and contains ``{"type": "file", "updateType": "update", "metadata": [{"metadataKey",
"metadataValue", "metadataValueType"}, ...]}`` with every value as text.
"""

from pathlib import Path

import numpy as np

from workflows.builtin import meshes, thumbnails
from workflows.builtin.errors import UnsupportedFormat

MetadataValue = str | int | float | bool


def extract(path: Path) -> dict[str, MetadataValue]:
    """Return the metadata of the mesh or image in ``path``, keyed by name."""
    if meshes.is_mesh(path):
        return _mesh_metadata(path)
    if thumbnails.is_image(path):
        return _image_metadata(path)
    raise UnsupportedFormat(
        f"{path.name} is neither a mesh nor an image, so no metadata can be read from it."
    )


def _mesh_metadata(path: Path) -> dict[str, MetadataValue]:
    scene = meshes.load_scene(path)
    lower, upper = np.asarray(scene.bounds, dtype=np.float64)
    values: dict[str, MetadataValue] = {
        "format": path.suffix.lower().lstrip("."),
        "geometryCount": len(scene.geometry),
        "vertexCount": meshes.vertex_count(scene),
        "faceCount": meshes.face_count(scene),
        "boundsMin": _triple(lower),
        "boundsMax": _triple(upper),
        "extents": _triple(upper - lower),
    }
    if values["faceCount"]:
        values["isWatertight"] = bool(meshes.flatten(scene).is_watertight)
    return values


def _image_metadata(path: Path) -> dict[str, MetadataValue]:
    image = thumbnails.open_image(path)
    return {
        "format": (image.format or path.suffix.lstrip(".")).lower(),
        "width": image.width,
        "height": image.height,
        "mode": image.mode,
        "frameCount": getattr(image, "n_frames", 1),
    }


def _triple(values: np.ndarray) -> str:
    return ",".join(f"{value:.6g}" for value in values)


def metadata_document(values: dict[str, MetadataValue]) -> dict:
    """Return the metadata file body for one asset file."""
    return {
        "type": "file",
        "updateType": "update",
        "metadata": [
            {
                "metadataKey": key,
                "metadataValue": _as_text(value),
                "metadataValueType": _value_type(value),
            }
            for key, value in values.items()
        ],
    }


def _as_text(value: MetadataValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _value_type(value: MetadataValue) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "string"
