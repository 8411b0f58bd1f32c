"""Metadata of meshes, point clouds and images, and the file that carries it.

The metadata file is what the output processing reads from a pipeline's
metadata folder: ``<relative path>.metadata.json`` applies to that asset file
and contains ``{"type": "file", "updateType": "update", "metadata": [{"metadataKey",
"metadataValue", "metadataValueType"}, ...]}`` with every value as text.
"""

from pathlib import Path

import numpy as np

from workflows.builtin import meshes, pointclouds, thumbnails
from workflows.builtin.errors import UnsupportedFormat

MetadataValue = str | int | float | bool


def extract(path: Path) -> dict[str, MetadataValue]:
    """Return the metadata of the mesh, point cloud or image in ``path`` by name."""
    if meshes.is_mesh(path):
        return _mesh_metadata(path)
    if pointclouds.is_point_cloud(path):
        return _point_cloud_metadata(path)
    if thumbnails.is_image(path):
        return _image_metadata(path)
    raise UnsupportedFormat(
        f"{path.name} is not a mesh, point cloud or image, so no metadata can be "
        "read from it."
    )


def _point_cloud_metadata(path: Path) -> dict[str, MetadataValue]:
    info = pointclouds.describe(path)
    values: dict[str, MetadataValue] = {
        "format": path.suffix.lower().lstrip("."),
        "pointCount": info.point_count,
        # Ten digits keep millimetres of georeferenced coordinates.
        "boundsMin": _triple(info.bounds_min, digits=10),
        "boundsMax": _triple(info.bounds_max, digits=10),
        "extents": _triple(info.bounds_max - info.bounds_min, digits=10),
        "hasColor": info.has_color,
        "hasIntensity": info.has_intensity,
    }
    values.update(info.extra)
    return values


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
    geometry = meshes.flatten(scene)
    if values["faceCount"]:
        values["isWatertight"] = bool(geometry.is_watertight)
    else:
        values["pointCount"] = values["vertexCount"]
        values["hasColor"] = meshes.point_colors(geometry) is not None
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


def _triple(values: np.ndarray, digits: int = 6) -> str:
    return ",".join(f"{value:.{digits}g}" for value in values)


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
