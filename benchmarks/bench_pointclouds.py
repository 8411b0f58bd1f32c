"""Measure reading, converting and rendering a synthetic LAZ point cloud.

Run from the repository root:

    .venv/bin/python benchmarks/bench_pointclouds.py [--points 500000 5000000]

For each size the script writes a LAZ file with RGB into a temporary folder.
It then prints the wall time and peak resident memory growth of the metadata
read, the thumbnail (subsampled to ``MAX_PREVIEW_POINTS``) and the conversions
to GLB, PLY and LAZ, on the machine at hand. Each measured
call runs in its own child process, so one call's memory does not hide the
next one's.
"""

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import laspy  # noqa: E402
import numpy as np  # noqa: E402

from workflows.builtin import metadata, pointclouds, thumbnails  # noqa: E402


def write_laz(path: Path, count: int) -> None:
    rng = np.random.default_rng(0)
    header = laspy.LasHeader(version="1.2", point_format=3)
    header.offsets = np.array([636000.0, 848000.0, 400.0])
    header.scales = np.array([0.01, 0.01, 0.01])
    las = laspy.LasData(header)
    las.x = rng.uniform(636000, 637000, count)
    las.y = rng.uniform(848000, 849000, count)
    las.z = 400 + (las.x - 636000) * 0.05 + rng.uniform(0, 10, count)
    colors = rng.integers(0, 65535, size=(3, count), dtype=np.uint16)
    las.red, las.green, las.blue = colors
    las.write(str(path), do_compress=True)


def _measure(task: str, source: str, folder: str, queue) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    source_path = Path(source)
    if task == "thumbnail":
        thumbnails.point_cloud_thumbnail(source_path, Path(folder) / "preview.png")
    elif task == "metadata":
        metadata.extract(source_path)
    else:
        pointclouds.convert(source_path, Path(folder) / f"out{task}")
    seconds = time.perf_counter() - started
    # ru_maxrss is in kibibytes on Linux.
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    queue.put((seconds, grown))


def measure(task: str, source: Path, folder: Path) -> tuple[float, float]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(
        target=_measure, args=(task, str(source), str(folder), queue)
    )
    process.start()
    result = queue.get()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--points",
        type=int,
        nargs="+",
        default=[500_000, 5_000_000],
        help="Point counts of the synthetic LAZ files to measure.",
    )
    arguments = parser.parse_args()
    print("| points | task | seconds | peak RSS growth (MiB) |")
    print("|---:|---|---:|---:|")
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        for count in arguments.points:
            source = folder / f"cloud-{count}.laz"
            write_laz(source, count)
            for task in ("metadata", "thumbnail", ".glb", ".ply", ".laz"):
                seconds, grown = measure(task, source, folder)
                print(f"| {count:,} | {task} | {seconds:.2f} | {grown:.0f} |")


if __name__ == "__main__":
    main()
