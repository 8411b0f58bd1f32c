"""Read, convert and describe point clouds: LAS and LAZ with laspy, E57 with pye57.

PLY point clouds (a PLY without faces) load through trimesh in ``meshes``;
this module reads them only to write LAS or LAZ.
LAS, LAZ and E57 store Z up, while glTF is Y up, so glTF outputs rotate the
points. glTF stores positions as 32-bit floats, which lose centimetres at
georeferenced magnitudes (a float32 near 636,000 has a step of 0.0625). The
points are therefore written relative to their centre, and the centre goes into
the node translation, which glTF stores as a JSON number.
"""

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import trimesh

from workflows.builtin import meshes
from workflows.builtin.errors import InputTooLarge, UnreadableInput, UnsupportedFormat

logger = logging.getLogger(__name__)

LAS_EXTENSIONS = frozenset({".las", ".laz"})
POINT_CLOUD_EXTENSIONS = LAS_EXTENSIONS | {".e57"}
OUTPUT_EXTENSIONS = frozenset({".ply", ".glb", ".gltf", ".las", ".laz"})
# Points read for a thumbnail. Larger clouds are subsampled with an even stride.
MAX_PREVIEW_POINTS = 2_000_000
# Points a conversion loads into memory. An estimate of 40 bytes each (float64
# XYZ, the colours and the export buffer) gives about 4 GB at the limit.
MAX_CONVERT_POINTS = 100_000_000
LAS_CHUNK_POINTS = 1_000_000
# LAS and E57 store Z up and glTF is Y up. This maps (x, y, z) to (x, z, -y).
Z_UP_TO_Y_UP = np.array(
    [[1, 0, 0, 0], [0, 0, 1, 0], [0, -1, 0, 0], [0, 0, 0, 1]], dtype=np.float64
)
# LAS stores the CRS in these records of the "LASF_Projection" user: GeoTIFF
# keys (34735) or OGC WKT (2112), the record ids laspy 2.7 parses as a CRS.
GEOTIFF_KEYS_RECORD = 34735
WKT_RECORD = 2112
WKT_NAME = re.compile(r'^\s*[A-Z_]+\[\s*"([^"]+)"')


@dataclass
class PointCloud:
    """Points in file coordinates with optional 8-bit RGB and intensity."""

    points: np.ndarray
    colors: np.ndarray | None = None
    intensity: np.ndarray | None = None
    # Points in the file, which is more than len(points) after subsampling.
    source_count: int = 0
    z_up: bool = True


@dataclass
class CloudInfo:
    """A point cloud's count, bounds and attributes.

    LAS and LAZ fill it from the header alone. E57 reads every point.
    """

    point_count: int
    bounds_min: np.ndarray
    bounds_max: np.ndarray
    has_color: bool
    has_intensity: bool
    extra: dict = field(default_factory=dict)


def is_point_cloud(path: Path) -> bool:
    return path.suffix.lower() in POINT_CLOUD_EXTENSIONS


def read(path: Path, *, max_points: int | None = None) -> PointCloud:
    """Read the points of a LAS, LAZ or E57 file, or of a mesh file without faces.

    With ``max_points``, a larger cloud is subsampled to at most that many
    points. Without it, a cloud over ``MAX_CONVERT_POINTS`` raises InputTooLarge.
    Raises UnreadableInput when the file cannot be parsed or has no points.
    """
    extension = path.suffix.lower()
    if extension in LAS_EXTENSIONS:
        cloud = _read_las(path, max_points)
    elif extension == ".e57":
        cloud = _read_e57(path, max_points)
    elif meshes.is_mesh(path):
        cloud = _read_mesh_points(path, max_points)
    else:
        raise UnsupportedFormat(
            f"{path.name} is not a supported point cloud; expected one of "
            f"{', '.join(sorted(POINT_CLOUD_EXTENSIONS))}."
        )
    if len(cloud.points) == 0:
        raise UnreadableInput(f"{path.name} contains no points.")
    return cloud


def _check_count(path: Path, count: int, max_points: int | None) -> None:
    if max_points is None and count > MAX_CONVERT_POINTS:
        raise InputTooLarge(
            f"{path.name} has {count:,} points; conversion handles at most "
            f"{MAX_CONVERT_POINTS:,}."
        )


def _stride(count: int, max_points: int | None) -> int:
    if max_points is None or count <= max_points:
        return 1
    return int(np.ceil(count / max_points))


def _open_las(path: Path):
    import laspy

    try:
        return laspy.open(str(path))
    except laspy.errors.LaspyException as exc:
        raise UnreadableInput(
            f"{path.name} could not be read as {path.suffix[1:].upper()}: {exc}"
        ) from exc
    except (OSError, ValueError) as exc:
        raise UnreadableInput(f"{path.name} could not be opened: {exc}") from exc


def _read_las(path: Path, max_points: int | None) -> PointCloud:
    import laspy

    with _open_las(path) as reader:
        count = reader.header.point_count
        _check_count(path, count, max_points)
        stride = _stride(count, max_points)
        has_color = "red" in reader.header.point_format.dimension_names
        has_intensity = "intensity" in reader.header.point_format.dimension_names
        points, colors, intensity = [], [], []
        offset = 0
        try:
            # Each chunk is decompressed on its own, so a subsampled read keeps
            # one chunk plus the kept points in memory.
            for chunk in reader.chunk_iterator(LAS_CHUNK_POINTS):
                keep = slice((-offset) % stride, None, stride)
                offset += len(chunk)
                xyz = np.column_stack((chunk.x, chunk.y, chunk.z))[keep]
                points.append(np.asarray(xyz, dtype=np.float64))
                if has_color:
                    rgb = np.column_stack((chunk.red, chunk.green, chunk.blue))
                    colors.append(np.asarray(rgb[keep], dtype=np.uint16))
                if has_intensity:
                    intensity.append(np.asarray(chunk.intensity[keep], dtype=np.uint16))
        except (laspy.errors.LaspyException, ValueError, OSError) as exc:
            raise UnreadableInput(
                f"{path.name} could not be read after {offset:,} of {count:,} points: "
                f"{exc}"
            ) from exc
    if not points:
        return PointCloud(points=np.empty((0, 3)), source_count=count)
    return PointCloud(
        points=np.vstack(points),
        colors=_to_8_bit(np.vstack(colors)) if has_color else None,
        intensity=np.concatenate(intensity) if has_intensity else None,
        source_count=count,
    )


def _read_mesh_points(path: Path, max_points: int | None) -> PointCloud:
    """Read a points-only mesh file, such as a PLY point cloud, through trimesh."""
    scene = meshes.load_scene(path)
    if meshes.face_count(scene):
        raise UnsupportedFormat(
            f"{path.name} is a mesh with faces, and LAS and LAZ store points only; "
            f"convert it to one of {', '.join(sorted(meshes.OUTPUT_EXTENSIONS))}."
        )
    geometry = meshes.flatten(scene)
    count = len(geometry.vertices)
    _check_count(path, count, max_points)
    keep = slice(None, None, _stride(count, max_points))
    colors = meshes.point_colors(geometry)
    return PointCloud(
        points=np.asarray(geometry.vertices, dtype=np.float64)[keep],
        colors=None if colors is None else colors[keep, :3].astype(np.uint8),
        source_count=count,
        # PLY has no axis convention, so the points keep the axes they have.
        z_up=False,
    )


def _to_8_bit(colors: np.ndarray) -> np.ndarray:
    """Scale LAS colours to 8 bits.

    LAS defines RGB as 16-bit, but some writers store 8-bit values unscaled
    (the channels of PDAL's autzen_trim.laz stop at 236), so colours that all
    fit in 8 bits are kept as they are.
    """
    if colors.size and int(colors.max()) > 255:
        return (colors >> 8).astype(np.uint8)
    return colors.astype(np.uint8)


def _open_e57(path: Path):
    try:
        import pye57
    except ImportError as exc:
        raise UnsupportedFormat(
            f"{path.name} is E57, and E57 is not supported here because the "
            "pye57 package is missing."
        ) from exc
    try:
        return pye57.E57(str(path))
    # libE57 raises its own exception type, which pye57 does not export.
    except Exception as exc:  # noqa: BLE001
        raise UnreadableInput(f"{path.name} could not be read as E57: {exc}") from exc


def _read_e57(path: Path, max_points: int | None) -> PointCloud:
    e57 = _open_e57(path)
    try:
        headers = [e57.get_header(index) for index in range(e57.scan_count)]
        count = sum(header.point_count for header in headers)
        _check_count(path, count, max_points)
        stride = _stride(count, max_points)
        points, colors, intensity = [], [], []
        has_color = all("colorRed" in header.point_fields for header in headers)
        has_intensity = all("intensity" in header.point_fields for header in headers)
        for index in range(e57.scan_count):
            # NOTE: pye57 reads a whole scan into memory at once, so the
            # subsampling below bounds what is kept, not the peak of one scan.
            scan = e57.read_scan(
                index,
                colors=has_color,
                intensity=has_intensity,
                ignore_missing_fields=True,
            )
            keep = slice(None, None, stride)
            xyz = np.column_stack(
                (scan["cartesianX"], scan["cartesianY"], scan["cartesianZ"])
            )
            points.append(xyz[keep])
            if has_color:
                rgb = np.column_stack(
                    (scan["colorRed"], scan["colorGreen"], scan["colorBlue"])
                )
                # NOTE: pye57 0.4 reads colours into uint8 buffers, and files
                # with 16-bit colorLimits have not been tried.
                colors.append(rgb[keep].astype(np.uint8))
            if has_intensity:
                intensity.append(scan["intensity"][keep].astype(np.float32))
    except InputTooLarge:
        raise
    # libE57 raises its own exception type for corrupt data.
    except Exception as exc:  # noqa: BLE001
        raise UnreadableInput(f"{path.name} could not be read as E57: {exc}") from exc
    finally:
        e57.close()
    if not points:
        return PointCloud(points=np.empty((0, 3)), source_count=count)
    return PointCloud(
        points=np.vstack(points).astype(np.float64),
        colors=np.vstack(colors) if has_color else None,
        intensity=np.concatenate(intensity) if has_intensity else None,
        source_count=count,
    )


def describe(path: Path) -> CloudInfo:
    """Read the point count, bounds and attributes of a LAS, LAZ or E57 file."""
    if path.suffix.lower() in LAS_EXTENSIONS:
        return _describe_las(path)
    return _describe_e57(path)


def _describe_las(path: Path) -> CloudInfo:
    with _open_las(path) as reader:
        header = reader.header
        dimensions = set(header.point_format.dimension_names)
        records = list(header.vlrs) + list(header.evlrs or [])
        crs_records = [
            record
            for record in records
            if record.user_id == "LASF_Projection"
            and record.record_id in (GEOTIFF_KEYS_RECORD, WKT_RECORD)
        ]
        extra = {
            "lasVersion": str(header.version),
            "pointFormat": header.point_format.id,
            "compressed": path.suffix.lower() == ".laz",
            "hasCrs": bool(crs_records),
        }
        if crs_records:
            extra["crsEncoding"] = ",".join(
                "wkt" if record.record_id == WKT_RECORD else "geotiff"
                for record in crs_records
            )
            name = _crs_name(crs_records)
            if name:
                extra["crsName"] = name
        return CloudInfo(
            point_count=header.point_count,
            bounds_min=np.asarray(header.mins, dtype=np.float64),
            bounds_max=np.asarray(header.maxs, dtype=np.float64),
            has_color="red" in dimensions,
            has_intensity="intensity" in dimensions,
            extra=extra,
        )


def _crs_name(records) -> str:
    """Return the name in the first WKT record, such as
    "NAD_1983_HARN_Lambert_Conformal_Conic", or "" when there is none."""
    for record in records:
        text = getattr(record, "string", "")
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        match = WKT_NAME.match(text or "")
        if match:
            return match.group(1)
    return ""


def _describe_e57(path: Path) -> CloudInfo:
    # cartesianBounds in E57 scan headers are optional, so the bounds come from
    # the points after each scan's pose is applied.
    cloud = read(path)
    e57 = _open_e57(path)
    try:
        scan_count = e57.scan_count
        crs = e57.root["coordinateMetadata"].value() if _has_child(
            e57.root, "coordinateMetadata"
        ) else ""
    finally:
        e57.close()
    return CloudInfo(
        point_count=cloud.source_count,
        bounds_min=cloud.points.min(axis=0),
        bounds_max=cloud.points.max(axis=0),
        has_color=cloud.colors is not None,
        has_intensity=cloud.intensity is not None,
        extra={"scanCount": scan_count, "hasCrs": bool(str(crs).strip())},
    )


def _has_child(node, name: str) -> bool:
    return any(node[index].elementName() == name for index in range(node.childCount()))


def convert(source: Path, target: Path) -> list[Path]:
    """Convert the point cloud ``source`` to the format named by ``target``'s suffix.

    Returns the files written, which is the target alone.
    """
    output_type = target.suffix.lower()
    if output_type not in OUTPUT_EXTENSIONS:
        raise UnsupportedFormat(
            f"{source.name} is a point cloud and cannot be converted to "
            f"{output_type or '(no extension)'}; supported outputs for point clouds "
            f"are {', '.join(sorted(OUTPUT_EXTENSIONS))}."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    if output_type in LAS_EXTENSIONS and source.suffix.lower() in LAS_EXTENSIONS:
        _copy_las(source, target)
        return [target]
    cloud = read(source)
    if output_type == ".ply":
        write_ply(cloud, target)
    elif output_type in LAS_EXTENSIONS:
        write_las(cloud, target)
    else:
        scene = to_scene(cloud)
        if output_type == ".glb":
            target.write_bytes(scene.export(file_type="glb"))
        else:
            files = trimesh.exchange.gltf.export_gltf(scene, embed_buffers=True)
            target.write_bytes(files["model.gltf"])
    return [target]


def to_scene(cloud: PointCloud) -> trimesh.Scene:
    """Return a glTF-ready scene: one POINTS primitive, Y up, centred in its node."""
    centre = (cloud.points.min(axis=0) + cloud.points.max(axis=0)) / 2
    colors = None
    if cloud.colors is not None:
        alpha = np.full((len(cloud.colors), 1), 255, dtype=np.uint8)
        colors = np.hstack((cloud.colors, alpha))
    geometry = trimesh.PointCloud(cloud.points - centre, colors=colors)
    placement = trimesh.transformations.translation_matrix(centre)
    if cloud.z_up:
        placement = Z_UP_TO_Y_UP @ placement
    scene = trimesh.Scene()
    scene.add_geometry(geometry, node_name="points", transform=placement)
    return scene


def write_ply(cloud: PointCloud, target: Path) -> None:
    """Write a binary little-endian PLY with double XYZ and, when present, uchar RGB.

    trimesh's exporter writes float32 positions, which would cut georeferenced
    coordinates to about 6 cm, so the records are packed here.
    """
    fields = [("x", "<f8"), ("y", "<f8"), ("z", "<f8")]
    if cloud.colors is not None:
        fields += [("red", "u1"), ("green", "u1"), ("blue", "u1")]
    records = np.empty(len(cloud.points), dtype=fields)
    records["x"], records["y"], records["z"] = cloud.points.T
    if cloud.colors is not None:
        records["red"], records["green"], records["blue"] = cloud.colors.T
    properties = "".join(
        f"property {'double' if kind == '<f8' else 'uchar'} {name}\n"
        for name, kind in fields
    )
    header = (
        "ply\nformat binary_little_endian 1.0\n"
        f"element vertex {len(records)}\n{properties}end_header\n"
    )
    with target.open("wb") as handle:
        handle.write(header.encode("ascii"))
        handle.write(records.tobytes())


def _copy_las(source: Path, target: Path) -> None:
    """Copy LAS to LAS or LAZ chunk by chunk, keeping every dimension and VLR."""
    import laspy

    compress = target.suffix.lower() == ".laz"
    with _open_las(source) as reader:
        try:
            with laspy.open(
                str(target), mode="w", header=reader.header, do_compress=compress
            ) as writer:
                for chunk in reader.chunk_iterator(LAS_CHUNK_POINTS):
                    writer.write_points(chunk)
        except (laspy.errors.LaspyException, ValueError) as exc:
            raise UnreadableInput(
                f"{source.name} could not be copied to {target.name}: {exc}"
            ) from exc


def write_las(cloud: PointCloud, target: Path) -> None:
    """Write LAS 1.2 (or LAZ by suffix), point format 2 with colours, else 0."""
    import laspy

    header = laspy.LasHeader(
        version="1.2", point_format=2 if cloud.colors is not None else 0
    )
    lower = cloud.points.min(axis=0)
    span = np.ptp(cloud.points, axis=0)
    header.offsets = lower
    # Millimetres unless the extent would overflow the 32-bit integer records.
    header.scales = np.maximum(span / 2.0e9, 0.001)
    las = laspy.LasData(header)
    las.x, las.y, las.z = cloud.points.T
    if cloud.colors is not None:
        # 8-bit to the 16-bit range LAS defines: 255 * 257 = 65535.
        wide = cloud.colors.astype(np.uint16) * 257
        las.red, las.green, las.blue = wide.T
    las.write(str(target), do_compress=target.suffix.lower() == ".laz")
