import json
import uuid
from pathlib import Path

import laspy
import numpy as np
import pytest
import trimesh
from django.conf import settings
from PIL import Image

from vams.aws import s3
from workflows.builtin import metadata, pointclouds, steps, thumbnails, worker
from workflows.builtin.errors import UnreadableInput, UnsupportedFormat
from workflows.builtin.pipelines import builtin_pipeline

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples" / "pointcloud"
SAMPLE_FILES = sorted(SAMPLES.glob("*")) if SAMPLES.is_dir() else []
needs_samples = pytest.mark.skipif(
    not SAMPLE_FILES, reason=f"no point cloud samples in {SAMPLES}"
)


def _grid_points(count: int) -> np.ndarray:
    """Return ``count`` points on a tilted plane at georeferenced magnitudes."""
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 500, size=(count, 2))
    z = 100 + 0.2 * xy[:, 0] + rng.uniform(0, 5, size=count)
    return np.column_stack((xy[:, 0] + 636000.0, xy[:, 1] + 848000.0, z))


def _write_las(path: Path, points: np.ndarray, *, rgb16: bool, crs: bool = False):
    header = laspy.LasHeader(version="1.4", point_format=7 if rgb16 else 6)
    header.offsets = points.min(axis=0)
    header.scales = np.array([0.001, 0.001, 0.001])
    if crs:
        header.vlrs.append(
            laspy.vlrs.known.WktCoordinateSystemVlr(
                'PROJCS["Test Lambert",GEOGCS["NAD83"]]'
            )
        )
    las = laspy.LasData(header)
    las.x, las.y, las.z = points.T
    if rgb16:
        ramp = np.linspace(0, 65535, len(points)).astype(np.uint16)
        las.red, las.green, las.blue = ramp, ramp[::-1], np.full_like(ramp, 32768)
    las.write(str(path), do_compress=path.suffix == ".laz")
    return path


@pytest.fixture
def las_file(tmp_path):
    return _write_las(tmp_path / "scan.las", _grid_points(5000), rgb16=True, crs=True)


@pytest.fixture
def laz_file(tmp_path):
    return _write_las(tmp_path / "tile.laz", _grid_points(3000), rgb16=False)


@pytest.fixture
def e57_file(tmp_path):
    pye57 = pytest.importorskip("pye57")
    path = tmp_path / "room.e57"
    rng = np.random.default_rng(3)
    with pye57.E57(str(path), mode="w") as writer:
        for offset in (0.0, 10.0):
            count = 400
            writer.write_scan_raw(
                {
                    "cartesianX": rng.uniform(0, 4, count) + offset,
                    "cartesianY": rng.uniform(0, 3, count),
                    "cartesianZ": rng.uniform(0, 2.5, count),
                    "colorRed": np.full(count, 200, dtype=np.uint8),
                    "colorGreen": np.full(count, 40, dtype=np.uint8),
                    "colorBlue": np.full(count, 40, dtype=np.uint8),
                    "intensity": rng.uniform(0, 1, count).astype(np.float32),
                }
            )
    return path


def _assert_not_blank(png: Path):
    with Image.open(png) as image:
        assert image.format == "PNG"
        assert image.size == (thumbnails.THUMBNAIL_SIZE, thumbnails.THUMBNAIL_SIZE)
        pixels = np.asarray(image.convert("RGB"))
    background = np.array(thumbnails.BACKGROUND[:3])
    drawn = np.any(pixels != background, axis=2).mean()
    assert drawn > 0.0005, f"only {drawn:.4%} of the pixels differ from the background"


def test_read_las_scales_coordinates(las_file):
    source = laspy.read(str(las_file))

    cloud = pointclouds.read(las_file)

    assert cloud.source_count == 5000
    assert cloud.points.shape == (5000, 3)
    assert np.allclose(cloud.points[:, 0], source.x)
    assert np.allclose(cloud.points[:, 2], source.z)


def test_read_las_scales_16_bit_colors(las_file):
    cloud = pointclouds.read(las_file)

    assert cloud.colors.dtype == np.uint8
    assert cloud.colors[:, 0].min() == 0
    assert cloud.colors[:, 0].max() == 255
    assert np.all(cloud.colors[:, 2] == 128)


def test_read_las_keeps_8_bit_colors(tmp_path):
    points = _grid_points(10)
    path = _write_las(tmp_path / "small.las", points, rgb16=True)
    las = laspy.read(str(path))
    las.red = np.arange(10, dtype=np.uint16) * 20
    las.green[:] = 255
    las.blue[:] = 0
    las.write(str(path))

    cloud = pointclouds.read(path)

    assert cloud.colors[:, 0].tolist() == list(range(0, 200, 20))


def test_read_las_without_colors(laz_file):
    cloud = pointclouds.read(laz_file)

    assert cloud.colors is None
    assert cloud.source_count == 3000


def test_read_subsamples_above_limit(las_file):
    cloud = pointclouds.read(las_file, max_points=1200)

    assert len(cloud.points) <= 1200
    assert len(cloud.points) >= 1000
    assert cloud.source_count == 5000
    assert len(cloud.colors) == len(cloud.points)


def test_read_subsamples_across_chunks(las_file, monkeypatch):
    monkeypatch.setattr(pointclouds, "LAS_CHUNK_POINTS", 333)
    whole = pointclouds.read(las_file)

    cloud = pointclouds.read(las_file, max_points=1000)

    assert np.array_equal(cloud.points, whole.points[::5])


def test_read_rejects_garbage_las(tmp_path):
    path = tmp_path / "broken.las"
    path.write_bytes(b"LASF" + b"\x00" * 50)

    with pytest.raises(UnreadableInput, match="broken.las could not be"):
        pointclouds.read(path)


def test_read_rejects_empty_las(tmp_path):
    path = tmp_path / "empty.las"
    laspy.LasData(laspy.LasHeader(version="1.2", point_format=0)).write(str(path))

    with pytest.raises(UnreadableInput, match="empty.las contains no points"):
        pointclouds.read(path)


@pytest.mark.parametrize("output_type", [".ply", ".glb", ".gltf"])
def test_convert_las_loads_in_trimesh(las_file, tmp_path, output_type):
    target = tmp_path / "out" / f"scan{output_type}"

    written = pointclouds.convert(las_file, target)

    assert written == [target]
    scene = trimesh.load(target, force="scene")
    clouds = list(scene.geometry.values())
    assert len(clouds) == 1
    assert isinstance(clouds[0], trimesh.PointCloud)
    assert len(clouds[0].vertices) == 5000
    assert clouds[0].colors.shape == (5000, 4)


def test_convert_ply_keeps_double_precision(las_file, tmp_path):
    target = tmp_path / "scan.ply"

    pointclouds.convert(las_file, target)

    loaded = trimesh.load(target)
    assert np.allclose(loaded.vertices, pointclouds.read(las_file).points, atol=1e-6)
    assert b"property double x" in target.read_bytes()[:200]


def test_convert_glb_is_y_up_with_world_bounds(las_file, tmp_path):
    source = pointclouds.read(las_file).points
    target = tmp_path / "scan.glb"

    pointclouds.convert(las_file, target)

    bounds = trimesh.load(target, force="scene").bounds
    # Z up becomes Y up, so file z is glTF y and file y is glTF -z.
    assert np.isclose(bounds[0][1], source[:, 2].min(), atol=0.01)
    assert np.isclose(bounds[1][2], -source[:, 1].min(), atol=0.01)
    assert np.isclose(bounds[0][0], source[:, 0].min(), atol=0.01)


def test_convert_glb_writes_points_primitive(las_file, tmp_path):
    target = tmp_path / "scan.glb"

    pointclouds.convert(las_file, target)

    data = target.read_bytes()
    length = int.from_bytes(data[12:16], "little")
    document = json.loads(data[20 : 20 + length])
    # glTF primitive mode 0 is POINTS.
    assert document["meshes"][0]["primitives"][0]["mode"] == 0


@pytest.mark.parametrize("output_type", [".las", ".laz"])
def test_convert_las_to_las_and_laz(las_file, tmp_path, output_type):
    target = tmp_path / f"copy{output_type}"

    pointclouds.convert(las_file, target)

    source = laspy.read(str(las_file))
    copy = laspy.read(str(target))
    assert len(copy.points) == len(source.points)
    assert np.array_equal(copy.red, source.red)
    assert copy.header.point_format.id == source.header.point_format.id
    assert any(
        vlr.record_id == pointclouds.WKT_RECORD for vlr in copy.header.vlrs
    )


def test_convert_rejects_face_output_naming_file(las_file, tmp_path):
    with pytest.raises(UnsupportedFormat) as raised:
        pointclouds.convert(las_file, tmp_path / "scan.stl")

    assert "scan.las is a point cloud" in raised.value.cause
    assert ".stl" in raised.value.cause
    assert ".glb, .gltf, .las, .laz, .ply" in raised.value.cause


def test_convert_e57_all_scans(e57_file, tmp_path):
    target = tmp_path / "room.ply"

    pointclouds.convert(e57_file, target)

    loaded = trimesh.load(target)
    assert len(loaded.vertices) == 800
    assert loaded.vertices[:, 0].max() > 10.0
    assert np.all(loaded.colors[:, 0] == 200)


def test_convert_e57_to_las(e57_file, tmp_path):
    target = tmp_path / "room.laz"

    pointclouds.convert(e57_file, target)

    las = laspy.read(str(target))
    assert len(las.points) == 800
    assert np.all(las.red == 200 * 257)
    source_max = pointclouds.read(e57_file).points[:, 0].max()
    assert np.isclose(las.x.max(), source_max, atol=0.001)


def test_metadata_las(las_file):
    values = metadata.extract(las_file)

    assert values["pointCount"] == 5000
    assert values["hasColor"] is True
    assert values["pointFormat"] == 7
    assert values["lasVersion"] == "1.4"
    assert values["hasCrs"] is True
    assert values["crsEncoding"] == "wkt"
    assert values["crsName"] == "Test Lambert"
    lower = [float(value) for value in values["boundsMin"].split(",")]
    assert np.allclose(lower, pointclouds.read(las_file).points.min(axis=0), atol=0.001)


def test_metadata_laz_without_crs_or_color(laz_file):
    values = metadata.extract(laz_file)

    assert values["pointCount"] == 3000
    assert values["hasColor"] is False
    assert values["hasCrs"] is False
    assert values["compressed"] is True
    assert "crsName" not in values


def test_metadata_e57(e57_file):
    values = metadata.extract(e57_file)

    assert values["format"] == "e57"
    assert values["scanCount"] == 2
    assert values["pointCount"] == 800
    assert values["hasColor"] is True
    assert values["hasIntensity"] is True


def test_metadata_ply_point_cloud(tmp_path):
    path = tmp_path / "dots.ply"
    colors = np.tile([10, 20, 30, 255], (50, 1)).astype(np.uint8)
    trimesh.PointCloud(np.random.default_rng(1).random((50, 3)), colors=colors).export(
        path
    )

    values = metadata.extract(path)

    assert values["pointCount"] == 50
    assert values["faceCount"] == 0
    assert values["hasColor"] is True


@pytest.mark.parametrize("fixture", ["las_file", "laz_file", "e57_file"])
def test_thumbnail_point_cloud_not_blank(request, tmp_path, fixture):
    source = request.getfixturevalue(fixture)
    target = tmp_path / f"{source.name}.previewFile.png"

    thumbnails.point_cloud_thumbnail(source, target)

    _assert_not_blank(target)


def test_thumbnail_uses_point_colors(las_file, tmp_path):
    path = tmp_path / "red.las"
    points = _grid_points(2000)
    _write_las(path, points, rgb16=True)
    las = laspy.read(str(path))
    las.red[:] = 65535
    las.green[:] = 0
    las.blue[:] = 0
    las.write(str(path))
    target = tmp_path / "red.png"

    thumbnails.point_cloud_thumbnail(path, target)

    pixels = np.asarray(Image.open(target).convert("RGB")).reshape(-1, 3).astype(int)
    drawn = pixels[np.any(pixels != thumbnails.BACKGROUND[:3], axis=1)]
    reddish = (drawn[:, 0] > drawn[:, 1] + 40).mean()
    assert reddish > 0.5


def test_thumbnail_glb_point_cloud_not_blank(las_file, tmp_path):
    glb = tmp_path / "scan.glb"
    pointclouds.convert(las_file, glb)
    target = tmp_path / "scan.glb.previewFile.png"

    thumbnails.mesh_thumbnail(glb, target)

    _assert_not_blank(target)


def test_steps_convert_preview_metadata(las_file, tmp_path):
    outputs = steps.OutputFolders(
        files=tmp_path / "files",
        previews=tmp_path / "previews",
        metadata=tmp_path / "metadata",
    )
    outputs.create()
    inputs = [steps.InputFile(path=las_file, relative_path="scans/scan.las")]

    converted = steps.convert_meshes(inputs, outputs, ".glb")
    previews = steps.make_previews(inputs, outputs)
    described = steps.extract_metadata(inputs, outputs)

    assert converted.written == ["scans/scan.glb"]
    assert previews.written == ["scans/scan.las.previewFile.png", "scan.png"]
    assert described.written == ["scans/scan.las.metadata.json"]
    document = json.loads((outputs.metadata / described.written[0]).read_text())
    counts = [
        item["metadataValue"]
        for item in document["metadata"]
        if item["metadataKey"] == "pointCount"
    ]
    assert counts == ["5000"]


def test_steps_reject_unsupported_point_cloud_output(las_file, tmp_path):
    outputs = steps.OutputFolders(
        files=tmp_path / "f", previews=tmp_path / "p", metadata=tmp_path / "m"
    )
    inputs = [steps.InputFile(path=las_file, relative_path="scan.las")]

    with pytest.raises(UnsupportedFormat, match="scan.las is a point cloud"):
        steps.convert_meshes(inputs, outputs, ".obj")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "cow.mtl",
            "cow.mtl is a material library for an OBJ model; "
            "run the workflow on the .obj file",
        ),
        (
            "scene.bin",
            "scene.bin is a binary buffer of a glTF model; "
            "run the workflow on the .gltf file",
        ),
        (
            "tile.lax",
            "tile.lax is a spatial index of a LAZ point cloud; "
            "run the workflow on the .laz file",
        ),
    ],
)
def test_steps_companion_file_cause(tmp_path, name, expected):
    path = tmp_path / name
    path.write_bytes(b"newmtl a\n")
    outputs = steps.OutputFolders(
        files=tmp_path / "f", previews=tmp_path / "p", metadata=tmp_path / "m"
    )

    with pytest.raises(UnsupportedFormat) as raised:
        steps.make_previews([steps.InputFile(path=path, relative_path=name)], outputs)

    assert raised.value.cause.startswith(expected)


@needs_samples
@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda path: path.name)
def test_samples_convert_preview_metadata(path, tmp_path):
    if not pointclouds.is_point_cloud(path):
        pytest.skip(f"{path.name} is not a point cloud")
    values = metadata.extract(path)
    source_count = _source_point_count(path)

    assert values["pointCount"] == source_count
    for output_type in (".ply", ".glb"):
        target = tmp_path / f"{path.stem}{output_type}"
        pointclouds.convert(path, target)
        loaded = list(trimesh.load(target, force="scene").geometry.values())
        assert sum(len(cloud.vertices) for cloud in loaded) == source_count
    preview = tmp_path / f"{path.name}.previewFile.png"
    thumbnails.point_cloud_thumbnail(path, preview)
    _assert_not_blank(preview)


def _source_point_count(path: Path) -> int:
    if path.suffix.lower() == ".e57":
        import pye57

        e57 = pye57.E57(str(path))
        try:
            return sum(
                e57.get_header(index).point_count for index in range(e57.scan_count)
            )
        finally:
            e57.close()
    with laspy.open(str(path)) as reader:
        return reader.header.point_count


def _worker_body(input_key: str, prefix: str, output_type: str) -> dict:
    bucket = settings.VAMS_ASSET_BUCKET
    return {
        "inputS3AssetFilePath": f"s3://{bucket}/{input_key}",
        "outputS3AssetFilesPath": f"s3://{bucket}/{prefix}files/",
        "outputS3AssetPreviewPath": f"s3://{bucket}/{prefix}previews/",
        "outputS3AssetMetadataPath": f"s3://{bucket}/{prefix}metadata/",
        "bucketAsset": bucket,
        "inputAssetFileKey": input_key,
        "inputAssetLocationKey": "xpc/",
        "outputType": output_type,
        "inputParameters": "",
    }


@pytest.mark.parametrize(
    ("pipeline_id", "output_type", "expected"),
    [
        ("convert-mesh-glb", ".glb", ["files/scans/scan.glb"]),
        (
            "preview-thumbnail",
            ".png",
            ["files/scans/scan.las.previewFile.png", "previews/scan.png"],
        ),
        ("extract-metadata", ".json", ["metadata/scans/scan.las.metadata.json"]),
    ],
)
def test_worker_processes_las_from_s3(las_file, pipeline_id, output_type, expected):
    bucket = settings.VAMS_ASSET_BUCKET
    prefix = f"pipelines/{pipeline_id}/j/output/{uuid.uuid4()}/"
    s3.put_object(bucket=bucket, key="xpc/scans/scan.las", body=las_file.read_bytes())
    body = _worker_body("xpc/scans/scan.las", prefix, output_type)

    outcome = worker.process_message(
        builtin_pipeline(pipeline_id), json.dumps({"body": body})
    )

    assert outcome.succeeded, outcome.cause
    keys = sorted(item.key for item in s3.list_objects(bucket=bucket, prefix=prefix))
    assert keys == [prefix + key for key in expected]


def test_worker_reports_companion_file_cause():
    bucket = settings.VAMS_ASSET_BUCKET
    prefix = f"pipelines/convert-mesh-glb/j/output/{uuid.uuid4()}/"
    s3.put_object(bucket=bucket, key="xpc/cow.mtl", body=b"newmtl a\nmap_Kd cow.png\n")
    body = _worker_body("xpc/cow.mtl", prefix, ".glb")

    outcome = worker.process_message(
        builtin_pipeline("convert-mesh-glb"), json.dumps({"body": body})
    )

    assert outcome.succeeded is False
    assert outcome.error == "UnsupportedFormat"
    assert outcome.cause == (
        "cow.mtl is a material library for an OBJ model; run the workflow on the "
        ".obj file that references it."
    )


def test_steps_convert_ply_points_to_laz(tmp_path):
    path = tmp_path / "dots.ply"
    points = _grid_points(200)
    colors = np.tile([250, 10, 10, 255], (200, 1)).astype(np.uint8)
    pointclouds.write_ply(pointclouds.PointCloud(points, colors[:, :3]), path)
    outputs = steps.OutputFolders(
        files=tmp_path / "f", previews=tmp_path / "p", metadata=tmp_path / "m"
    )

    result = steps.convert_meshes(
        [steps.InputFile(path=path, relative_path="dots.ply")], outputs, ".laz"
    )

    assert result.written == ["dots.laz"]
    las = laspy.read(str(outputs.files / "dots.laz"))
    assert len(las.points) == 200
    assert np.allclose(np.sort(las.x), np.sort(points[:, 0]), atol=0.001)
    assert np.all(las.red == 250 * 257)


def test_steps_reject_mesh_with_faces_to_las(tmp_path):
    path = tmp_path / "box.obj"
    trimesh.creation.box().export(path)
    outputs = steps.OutputFolders(
        files=tmp_path / "f", previews=tmp_path / "p", metadata=tmp_path / "m"
    )

    with pytest.raises(UnsupportedFormat, match="box.obj is a mesh with faces"):
        steps.convert_meshes(
            [steps.InputFile(path=path, relative_path="box.obj")], outputs, ".las"
        )
