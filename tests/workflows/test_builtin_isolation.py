import pytest
import trimesh

from workflows.builtin import isolation, steps
from workflows.builtin.errors import StepTimedOut


@pytest.fixture
def outputs(tmp_path):
    folders = steps.OutputFolders(
        files=tmp_path / "files",
        previews=tmp_path / "previews",
        metadata=tmp_path / "metadata",
    )
    folders.create()
    return folders


def test_run_isolated_returns_step_result(tmp_path, outputs):
    source = tmp_path / "box.obj"
    trimesh.creation.box().export(source)
    inputs = [steps.InputFile(path=source, relative_path="box.obj")]

    result = isolation.run_isolated(
        "convert_meshes", inputs, outputs, ".glb", timeout_seconds=120
    )

    assert result.written == ["box.glb"]
    assert (outputs.files / "box.glb").is_file()


def test_run_isolated_passes_step_error(tmp_path, outputs):
    source = tmp_path / "broken.glb"
    source.write_bytes(b"glTF\x02\x00\x00\x00garbage")
    inputs = [steps.InputFile(path=source, relative_path="broken.glb")]

    with pytest.raises(Exception) as raised:
        isolation.run_isolated(
            "convert_meshes", inputs, outputs, ".glb", timeout_seconds=120
        )

    assert raised.value.error == "UnreadableInput"
    assert raised.value.cause.startswith("broken.glb could not be read as GLB")


def test_run_isolated_stops_slow_step(tmp_path, outputs):
    source = tmp_path / "sphere.obj"
    trimesh.creation.icosphere(subdivisions=5).export(source)
    inputs = [steps.InputFile(path=source, relative_path="sphere.obj")]

    # Starting a child alone takes longer than this limit.
    isolation._thread_state.child = None
    with pytest.raises(
        StepTimedOut, match="did not finish within 0.05 s on sphere.obj"
    ):
        isolation.run_isolated(
            "convert_meshes", inputs, outputs, ".glb", timeout_seconds=0.05
        )

    assert not (outputs.files / "sphere.glb").exists()


def test_run_isolated_replaces_stopped_child(tmp_path, outputs):
    source = tmp_path / "box.obj"
    trimesh.creation.box().export(source)
    inputs = [steps.InputFile(path=source, relative_path="box.obj")]
    isolation.run_isolated(
        "convert_meshes", inputs, outputs, ".glb", timeout_seconds=120
    )
    first = isolation._thread_state.child
    first.stop()

    result = isolation.run_isolated(
        "convert_meshes", inputs, outputs, ".glb", timeout_seconds=120
    )

    assert result.written == ["box.glb"]
    assert isolation._thread_state.child is not first


def test_run_isolated_reuses_child(tmp_path, outputs):
    source = tmp_path / "box.obj"
    trimesh.creation.box().export(source)
    inputs = [steps.InputFile(path=source, relative_path="box.obj")]
    isolation.run_isolated(
        "convert_meshes", inputs, outputs, ".glb", timeout_seconds=120
    )
    first = isolation._thread_state.child

    isolation.run_isolated(
        "extract_metadata", inputs, outputs, ".json", timeout_seconds=120
    )

    assert isolation._thread_state.child is first
    assert (outputs.metadata / "box.obj.metadata.json").is_file()
