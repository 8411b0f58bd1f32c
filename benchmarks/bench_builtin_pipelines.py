"""Time the built-in pipeline steps on generated meshes and images, on the CPU.

For meshes of growing size (icospheres, saved as OBJ) it prints the seconds
to convert to GLB, to render the preview thumbnail and to extract metadata.
For images of growing size it prints the thumbnail and metadata times. No AWS and no
database are involved, because it calls the functions that the pipeline worker
runs for each step.

    .venv/bin/python benchmarks/bench_builtin_pipelines.py [--max-subdivisions 7]
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import trimesh
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workflows.builtin import meshes, metadata, thumbnails  # noqa: E402


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--max-subdivisions",
        type=int,
        default=7,
        help="Largest icosphere subdivision level; 7 is 327,680 triangles.",
    )
    return parser.parse_args()


def seconds(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def bench_meshes(folder: Path, max_subdivisions: int) -> None:
    print("| triangles | OBJ MB | convert to GLB s | thumbnail s | metadata s |")
    print("|---:|---:|---:|---:|---:|")
    for level in range(3, max_subdivisions + 1):
        source = folder / f"sphere-{level}.obj"
        mesh = trimesh.creation.icosphere(subdivisions=level)
        mesh.export(source)
        convert = seconds(
            lambda: meshes.convert(source, folder / f"sphere-{level}.glb")
        )
        thumbnail = seconds(
            lambda: thumbnails.mesh_thumbnail(source, folder / f"sphere-{level}.png")
        )
        extract = seconds(lambda: metadata.extract(source))
        size_mb = source.stat().st_size / 1e6
        print(
            f"| {len(mesh.faces):,} | {size_mb:.1f} | {convert:.2f} | "
            f"{thumbnail:.2f} | {extract:.2f} |"
        )


def bench_images(folder: Path) -> None:
    print()
    print("| image pixels | thumbnail s | metadata s |")
    print("|---:|---:|---:|")
    rng = np.random.default_rng(0)
    for width in (640, 2048, 6000):
        height = width * 2 // 3
        source = folder / f"photo-{width}.jpg"
        pixels = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(source, quality=90)
        thumbnail = seconds(
            lambda: thumbnails.image_thumbnail(source, folder / f"photo-{width}.png")
        )
        extract = seconds(lambda: metadata.extract(source))
        print(f"| {width}x{height} | {thumbnail:.2f} | {extract:.2f} |")


def main() -> None:
    arguments = parse_arguments()
    with tempfile.TemporaryDirectory(prefix="bench-builtin-") as folder:
        bench_meshes(Path(folder), arguments.max_subdivisions)
        bench_images(Path(folder))


if __name__ == "__main__":
    main()
