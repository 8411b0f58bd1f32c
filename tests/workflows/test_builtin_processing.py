import json

import numpy as np
import pytest
import trimesh
from PIL import Image

from workflows.builtin import meshes, metadata, steps, thumbnails
from workflows.builtin.errors import UnreadableInput, UnsupportedFormat


@pytest.fixture
def box_obj(tmp_path):
    path = tmp_path / "box.obj"
    trimesh.creation.box(extents=(2.0, 1.0, 0.5)).export(path)
    return path


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.jpg"
    pixels = np.linspace(0, 255, 640 * 400 * 3).reshape(400, 640, 3).astype(np.uint8)
    Image.fromarray(pixels).save(path)
    return path


@pytest.mark.parametrize(
    "output_type", [".glb", ".gltf", ".obj", ".ply", ".stl", ".off"]
)
def test_convert_keeps_geometry(box_obj, tmp_path, output_type):
    target = tmp_path / "out" / f"box{output_type}"

    written = meshes.convert(box_obj, target)

    assert written[0] == target
    loaded = trimesh.load(target, force="mesh")
    assert len(loaded.faces) == 12
    assert np.allclose(loaded.extents, (2.0, 1.0, 0.5))


@pytest.mark.parametrize("source_type", [".ply", ".stl", ".glb", ".gltf", ".off"])
def test_convert_reads_each_format(tmp_path, source_type):
    source = tmp_path / f"sphere{source_type}"
    trimesh.creation.icosphere(subdivisions=2).export(source)

    meshes.convert(source, tmp_path / "sphere-out.glb")

    loaded = trimesh.load(tmp_path / "sphere-out.glb", force="mesh")
    assert len(loaded.faces) == 320


def test_convert_rejects_unknown_output_type(box_obj, tmp_path):
    with pytest.raises(UnsupportedFormat, match=r"\.fbx"):
        meshes.convert(box_obj, tmp_path / "box.fbx")


def test_load_scene_rejects_garbage_glb(tmp_path):
    path = tmp_path / "broken.glb"
    path.write_bytes(b"glTF\x02\x00\x00\x00not really a model")

    with pytest.raises(UnreadableInput, match="broken.glb could not be read as GLB"):
        meshes.load_scene(path)


def test_load_scene_rejects_empty_obj(tmp_path):
    path = tmp_path / "empty.obj"
    path.write_text("# nothing here\n")

    with pytest.raises(UnreadableInput, match="empty.obj contains no geometry"):
        meshes.load_scene(path)


def test_load_scene_rejects_unsupported_extension(tmp_path):
    path = tmp_path / "scan.las"
    path.write_bytes(b"LASF")

    with pytest.raises(UnsupportedFormat, match="scan.las is not a supported mesh"):
        meshes.load_scene(path)


def test_referenced_files_obj_mtl_and_gltf(tmp_path):
    obj = tmp_path / "model.obj"
    obj.write_text("mtllib model.mtl\nv 0 0 0\n")
    mtl = tmp_path / "model.mtl"
    mtl.write_text("newmtl a\nmap_Kd .\\tex\\wood.jpg\nmap_Bump -bm 0.5 bump.png\n")
    gltf = tmp_path / "scene.gltf"
    gltf.write_text(
        json.dumps(
            {
                "buffers": [
                    {"uri": "scene.bin"},
                    {"uri": "data:application/octet-stream;base64,AA=="},
                ],
                "images": [{"uri": "textures/a.png"}],
            }
        )
    )

    assert meshes.referenced_files(obj) == ["model.mtl"]
    assert meshes.referenced_files(mtl) == ["tex/wood.jpg", "bump.png"]
    assert meshes.referenced_files(gltf) == ["scene.bin", "textures/a.png"]


def test_decimate_bounds_face_count():
    sphere = trimesh.creation.icosphere(subdivisions=6)
    assert len(sphere.faces) > 80_000

    vertices, faces, colors = meshes.decimate(
        sphere.vertices, sphere.faces, 5_000, np.ones((len(sphere.vertices), 3))
    )

    assert len(faces) <= 5_000
    assert len(faces) > 500
    assert faces.max() < len(vertices)
    assert colors.shape == (len(vertices), 3)
    assert np.allclose(np.linalg.norm(vertices, axis=1).max(), 1.0, atol=0.05)


def test_mesh_thumbnail_draws_the_mesh(box_obj, tmp_path):
    target = tmp_path / "box.png"

    thumbnails.mesh_thumbnail(box_obj, target, size=128)

    with Image.open(target) as image:
        assert image.format == "PNG"
        assert image.size == (128, 128)
        centre = image.convert("RGB").getpixel((64, 64))
    assert centre != thumbnails.BACKGROUND[:3]


def test_mesh_thumbnail_renders_point_cloud(tmp_path):
    path = tmp_path / "points.ply"
    trimesh.PointCloud(np.random.default_rng(1).random((500, 3))).export(path)
    target = tmp_path / "points.png"

    thumbnails.mesh_thumbnail(path, target, size=64)

    with Image.open(target) as image:
        assert image.size == (64, 64)


def test_image_thumbnail_fits_size(photo, tmp_path):
    target = tmp_path / "thumb.png"

    thumbnails.image_thumbnail(photo, target, size=200)

    with Image.open(target) as image:
        assert image.format == "PNG"
        assert image.size == (200, 125)


def test_image_thumbnail_rejects_non_image(tmp_path):
    path = tmp_path / "fake.png"
    path.write_text("this is text")

    with pytest.raises(UnreadableInput, match="fake.png is not an image"):
        thumbnails.image_thumbnail(path, tmp_path / "out.png")


def test_extract_mesh_metadata(box_obj):
    values = metadata.extract(box_obj)

    assert values["vertexCount"] == 8
    assert values["faceCount"] == 12
    assert values["boundsMin"] == "-1,-0.5,-0.25"
    assert values["boundsMax"] == "1,0.5,0.25"
    assert values["isWatertight"] is True


def test_extract_image_metadata(photo):
    values = metadata.extract(photo)

    assert values["width"] == 640
    assert values["height"] == 400
    assert values["mode"] == "RGB"
    assert values["format"] == "jpeg"


def test_metadata_document_shape():
    document = metadata.metadata_document(
        {"vertexCount": 8, "format": "obj", "isWatertight": False}
    )

    assert document["type"] == "file"
    assert document["updateType"] == "update"
    assert document["metadata"] == [
        {
            "metadataKey": "vertexCount",
            "metadataValue": "8",
            "metadataValueType": "number",
        },
        {
            "metadataKey": "format",
            "metadataValue": "obj",
            "metadataValueType": "string",
        },
        {
            "metadataKey": "isWatertight",
            "metadataValue": "false",
            "metadataValueType": "boolean",
        },
    ]


@pytest.fixture
def outputs(tmp_path):
    folders = steps.OutputFolders(
        files=tmp_path / "files",
        previews=tmp_path / "previews",
        metadata=tmp_path / "metadata",
    )
    folders.create()
    return folders


def test_convert_step_keeps_relative_folder(box_obj, photo, outputs):
    inputs = [
        steps.InputFile(path=box_obj, relative_path="models/box.obj"),
        steps.InputFile(path=photo, relative_path="photo.jpg"),
    ]

    result = steps.convert_meshes(inputs, outputs, ".glb")

    assert result.written == ["models/box.glb"]
    assert result.skipped == ["photo.jpg"]
    assert (outputs.files / "models" / "box.glb").is_file()


def test_convert_step_rejects_inputs_without_mesh_or_image(tmp_path, outputs):
    path = tmp_path / "notes.txt"
    path.write_text("hello")

    with pytest.raises(
        UnsupportedFormat, match="No mesh, point cloud or image to process in notes.txt"
    ):
        steps.convert_meshes(
            [steps.InputFile(path=path, relative_path="notes.txt")], outputs, ".glb"
        )


def test_preview_step_writes_file_and_asset_previews(box_obj, photo, outputs):
    inputs = [
        steps.InputFile(path=photo, relative_path="photo.jpg"),
        steps.InputFile(path=box_obj, relative_path="models/box.obj"),
    ]

    result = steps.make_previews(inputs, outputs)

    assert result.written == [
        "models/box.obj.previewFile.png",
        "photo.jpg.previewFile.png",
        "box.png",
    ]
    assert (outputs.previews / "box.png").read_bytes() == (
        outputs.files / "models" / "box.obj.previewFile.png"
    ).read_bytes()


def test_preview_step_ignores_existing_previews(tmp_path, photo, outputs):
    old_preview = tmp_path / "photo.jpg.previewFile.png"
    old_preview.write_bytes(photo.read_bytes())
    inputs = [
        steps.InputFile(path=old_preview, relative_path="photo.jpg.previewFile.png")
    ]

    with pytest.raises(UnsupportedFormat):
        steps.make_previews(inputs, outputs)


def test_metadata_step_writes_per_file_documents(box_obj, outputs):
    inputs = [steps.InputFile(path=box_obj, relative_path="models/box.obj")]

    result = steps.extract_metadata(inputs, outputs)

    assert result.written == ["models/box.obj.metadata.json"]
    document = json.loads(
        (outputs.metadata / "models" / "box.obj.metadata.json").read_text()
    )
    values = {
        item["metadataKey"]: item["metadataValue"] for item in document["metadata"]
    }
    assert values["faceCount"] == "12"
