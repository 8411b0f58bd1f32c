"""Read, convert and simplify meshes with trimesh.

Inputs: OBJ (with its MTL and textures), PLY, STL, GLB, glTF (with external
buffers and images) and OFF. Outputs: GLB, self-contained glTF, OBJ (with MTL
and texture), PLY, STL and OFF.
"""

import json
import logging
import re
from pathlib import Path, PurePosixPath

import numpy as np
import trimesh

from workflows.builtin.errors import UnreadableInput, UnsupportedFormat

logger = logging.getLogger(__name__)

MESH_EXTENSIONS = frozenset({".obj", ".ply", ".stl", ".glb", ".gltf", ".off"})
OUTPUT_EXTENSIONS = frozenset({".glb", ".gltf", ".obj", ".ply", ".stl", ".off"})
# Output formats that store one triangle soup, so points-only input cannot go there.
FACE_ONLY_OUTPUTS = frozenset({".stl", ".off"})
OBJ_MATERIAL_LIBRARY = re.compile(r"^\s*mtllib\s+(.+?)\s*$", re.MULTILINE)
MTL_TEXTURE_MAP = re.compile(
    r"^\s*(?:map_\w+|bump|disp|decal|refl)\s+(?:-\S+\s+\S+\s+)*(.+?)\s*$",
    re.MULTILINE,
)


def is_mesh(path: Path) -> bool:
    return path.suffix.lower() in MESH_EXTENSIONS


def load_scene(path: Path) -> trimesh.Scene:
    """Load ``path`` as a scene. Files it references must be in the same folder.

    Raises UnsupportedFormat for an extension trimesh is not used for here and
    UnreadableInput when the file cannot be parsed or contains no geometry.
    """
    extension = path.suffix.lower()
    if extension not in MESH_EXTENSIONS:
        raise UnsupportedFormat(
            f"{path.name} is not a supported mesh; expected one of "
            f"{', '.join(sorted(MESH_EXTENSIONS))}."
        )
    try:
        scene = trimesh.load(str(path), force="scene")
    # trimesh's loaders raise many types (ValueError, KeyError, IndexError,
    # struct.error, JSON errors) for malformed files, so every one counts.
    except Exception as exc:  # noqa: BLE001
        raise UnreadableInput(
            f"{path.name} could not be read as {extension[1:].upper()}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if vertex_count(scene) == 0:
        raise UnreadableInput(f"{path.name} contains no geometry.")
    return scene


def vertex_count(scene: trimesh.Scene) -> int:
    return sum(len(geometry.vertices) for geometry in scene.geometry.values())


def face_count(scene: trimesh.Scene) -> int:
    return sum(
        len(getattr(geometry, "faces", ())) for geometry in scene.geometry.values()
    )


def flatten(scene: trimesh.Scene) -> trimesh.Trimesh | trimesh.PointCloud:
    """Return one geometry in world coordinates: a mesh, or the points when
    the scene has no faces."""
    if face_count(scene) == 0:
        points, colors = [], []
        for node in scene.graph.nodes_geometry:
            transform, name = scene.graph[node]
            geometry = scene.geometry[name]
            points.append(trimesh.transform_points(geometry.vertices, transform))
            colors.append(point_colors(geometry))
        # Colours survive only when every part has them.
        if any(part is None for part in colors):
            return trimesh.PointCloud(np.vstack(points))
        return trimesh.PointCloud(np.vstack(points), colors=np.vstack(colors))
    return scene.to_mesh()


def point_colors(geometry) -> np.ndarray | None:
    """Return the RGBA colour per vertex of a points-only geometry, or None."""
    if isinstance(geometry, trimesh.PointCloud):
        colors = np.asarray(geometry.colors)
    else:
        visual = getattr(geometry, "visual", None)
        if visual is None or visual.kind != "vertex":
            return None
        colors = np.asarray(visual.vertex_colors)
    if colors.shape != (len(geometry.vertices), 4):
        return None
    return colors


def convert(source: Path, target: Path) -> list[Path]:
    """Convert the mesh ``source`` to the format named by ``target``'s suffix.

    Returns every file written: the target, plus the MTL and texture files of
    an OBJ target, named after the target so several outputs can share a folder.
    """
    output_type = target.suffix.lower()
    if output_type not in OUTPUT_EXTENSIONS:
        raise UnsupportedFormat(
            f"Output type {output_type or '(none)'} is not supported; use one of "
            f"{', '.join(sorted(OUTPUT_EXTENSIONS))}."
        )
    scene = load_scene(source)
    if output_type in FACE_ONLY_OUTPUTS and face_count(scene) == 0:
        raise UnsupportedFormat(
            f"{source.name} has points but no faces, and {output_type} stores faces only."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    if output_type == ".glb":
        target.write_bytes(scene.export(file_type="glb"))
        return [target]
    if output_type == ".gltf":
        files = trimesh.exchange.gltf.export_gltf(scene, embed_buffers=True)
        target.write_bytes(files["model.gltf"])
        return [target]
    if output_type == ".obj":
        return _write_obj(flatten(scene), target)
    exported = flatten(scene).export(file_type=output_type[1:])
    target.write_bytes(exported.encode() if isinstance(exported, str) else exported)
    return [target]


def _write_obj(mesh, target: Path) -> list[Path]:
    text, extra_files = trimesh.exchange.obj.export_obj(
        mesh, include_texture=True, return_texture=True, mtl_name=f"{target.stem}.mtl"
    )
    target.write_text(text)
    written = [target]
    for name, data in extra_files.items():
        companion = target.parent / PurePosixPath(name).name
        companion.write_bytes(data)
        written.append(companion)
    return written


def referenced_files(path: Path) -> list[str]:
    """Return the relative paths an OBJ or glTF file loads beside itself.

    The worker downloads these with the input, so a textured OBJ or a glTF
    with external buffers loads whole. Data URIs and absolute paths are left out.
    """
    extension = path.suffix.lower()
    if extension not in (".obj", ".mtl", ".gltf"):
        return []
    text = path.read_text(errors="replace")
    if extension == ".obj":
        return [name.strip() for name in OBJ_MATERIAL_LIBRARY.findall(text)]
    if extension == ".mtl":
        return [_windows_to_posix(name) for name in MTL_TEXTURE_MAP.findall(text)]
    if extension == ".gltf":
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            return []
        uris = [
            item.get("uri", "")
            for section in ("buffers", "images")
            for item in document.get(section, [])
            if isinstance(item, dict)
        ]
        return [uri for uri in uris if uri and _is_relative_uri(uri)]
    return []


def _windows_to_posix(name: str) -> str:
    name = name.strip().replace("\\", "/")
    return name[2:] if name.startswith("./") else name


def _is_relative_uri(uri: str) -> bool:
    return ":" not in uri and not uri.startswith("/")


def decimate(
    vertices: np.ndarray,
    faces: np.ndarray,
    max_faces: int,
    colors: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Simplify a triangle mesh to at most ``max_faces`` by vertex clustering.

    Vertices are snapped to a uniform grid and each cell becomes one vertex
    (the mean of its members, colours averaged the same way). Triangles that
    collapse are dropped. The grid coarsens until the face count fits. This
    keeps the silhouette, which is all a thumbnail needs.
    """
    if len(faces) <= max_faces:
        return vertices, faces, colors
    lower = vertices.min(axis=0)
    extent = float(np.ptp(vertices, axis=0).max()) or 1.0
    resolution = max(int(np.sqrt(max_faces)), 4)
    while True:
        cells = np.floor((vertices - lower) / extent * (resolution - 1)).astype(
            np.int64
        )
        keys = (cells[:, 0] * resolution + cells[:, 1]) * resolution + cells[:, 2]
        _, cluster, sizes = np.unique(keys, return_inverse=True, return_counts=True)
        new_faces = cluster[faces]
        keep = (
            (new_faces[:, 0] != new_faces[:, 1])
            & (new_faces[:, 1] != new_faces[:, 2])
            & (new_faces[:, 0] != new_faces[:, 2])
        )
        new_faces = new_faces[keep]
        # Drop duplicates but keep each survivor's winding.
        _, first = np.unique(np.sort(new_faces, axis=1), axis=0, return_index=True)
        new_faces = new_faces[np.sort(first)]
        if len(new_faces) <= max_faces or resolution <= 4:
            break
        resolution = max(int(resolution * 0.7), 4)
    new_vertices = _cluster_mean(vertices, cluster, sizes)
    new_colors = None if colors is None else _cluster_mean(colors, cluster, sizes)
    return new_vertices, new_faces, new_colors


def _cluster_mean(
    values: np.ndarray, cluster: np.ndarray, sizes: np.ndarray
) -> np.ndarray:
    sums = np.zeros((len(sizes), values.shape[1]), dtype=np.float64)
    np.add.at(sums, cluster, values)
    return sums / sizes[:, None]
