"""PNG thumbnails: images resized with Pillow, meshes and point clouds drawn on the CPU.

The mesh renderer needs no GPU or window: an orthographic view from above and
to the side, flat-shaded triangles drawn back to front (painter's algorithm)
with Pillow at twice the size, then downsampled for smooth edges. Meshes with
more than ``MAX_RENDER_FACES`` triangles are simplified first, so the time
stays bounded. Point clouds are splatted with numpy into a depth-tested
image, coloured by their RGB or by height, from at most ``MAX_RENDER_POINTS``.
"""

import logging
from pathlib import Path

import numpy as np
import trimesh
from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError

from workflows.builtin import meshes, pointclouds
from workflows.builtin.errors import InputTooLarge, UnreadableInput

logger = logging.getLogger(__name__)

THUMBNAIL_SIZE = 512
MAX_RENDER_FACES = 40_000
MAX_RENDER_POINTS = 2_000_000
SUPERSAMPLING = 2
BACKGROUND = (244, 245, 247, 255)
DEFAULT_COLOR = np.array([176.0, 184.0, 198.0])
AZIMUTH_DEGREES = -35.0
ELEVATION_DEGREES = 28.0
# Direction towards the light, in view space (x right, y up, z to the viewer).
LIGHT_DIRECTION = np.array([0.35, 0.55, 0.76])
AMBIENT = 0.32
IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp"}
)


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


def open_image(path: Path) -> Image.Image:
    """Open and fully decode ``path``, upright per its EXIF orientation.

    Raises UnreadableInput for a file Pillow cannot decode and InputTooLarge
    for one over Pillow's decompression-bomb limit.
    """
    try:
        with Image.open(path) as image:
            image.load()
            upright = ImageOps.exif_transpose(image)
            # The transposed copy loses the file format, which metadata reports.
            upright.format = image.format
            return upright
    except Image.DecompressionBombError as exc:
        raise InputTooLarge(
            f"{path.name} has too many pixels to decode safely: {exc}"
        ) from exc
    except UnidentifiedImageError as exc:
        raise UnreadableInput(f"{path.name} is not an image Pillow can read.") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise UnreadableInput(
            f"{path.name} could not be decoded as an image: {exc}"
        ) from exc


def image_thumbnail(source: Path, target: Path, size: int = THUMBNAIL_SIZE) -> Path:
    """Write a PNG of ``source`` that fits in ``size`` x ``size`` pixels."""
    image = open_image(source)
    if image.mode not in ("RGB", "RGBA"):
        has_alpha = image.mode in ("LA", "PA") or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    target.parent.mkdir(parents=True, exist_ok=True)
    image.save(target, format="PNG")
    return target


def mesh_thumbnail(source: Path, target: Path, size: int = THUMBNAIL_SIZE) -> Path:
    """Write a PNG rendering of the mesh or point cloud in ``source``."""
    geometry = meshes.flatten(meshes.load_scene(source))
    canvas_size = size * SUPERSAMPLING
    if isinstance(geometry, trimesh.PointCloud):
        canvas = _draw_points(
            np.asarray(geometry.vertices, dtype=np.float64),
            canvas_size,
            meshes.point_colors(geometry),
        )
    else:
        canvas = _draw_mesh(geometry, canvas_size)
    return _save_canvas(canvas, target, size)


def _draw_mesh(mesh: trimesh.Trimesh, canvas_size: int) -> Image.Image:
    vertices, faces, colors = meshes.decimate(
        np.asarray(mesh.vertices, dtype=np.float64),
        np.asarray(mesh.faces, dtype=np.int64),
        MAX_RENDER_FACES,
        _vertex_colors(mesh),
    )
    view = _to_view(vertices)
    screen = _to_screen(view, canvas_size)
    triangles = view[faces]
    normals = np.cross(
        triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0]
    )
    lengths = np.linalg.norm(normals, axis=1)
    visible = lengths > 0
    normals[visible] /= lengths[visible, None]
    # Both sides are lit, because many files have inconsistent winding.
    light = AMBIENT + (1 - AMBIENT) * np.abs(normals @ _unit(LIGHT_DIRECTION))
    base = colors[faces].mean(axis=1) if colors is not None else DEFAULT_COLOR
    shaded = np.clip(base * light[:, None], 0, 255).astype(np.uint8)
    order = np.argsort(triangles[:, :, 2].mean(axis=1))

    canvas = Image.new("RGBA", (canvas_size, canvas_size), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    for index in order:
        if not visible[index]:
            continue
        corners = [tuple(point) for point in screen[faces[index]]]
        color = tuple(int(channel) for channel in shaded[index])
        draw.polygon(corners, fill=color, outline=color)
    return canvas


def point_cloud_thumbnail(
    source: Path, target: Path, size: int = THUMBNAIL_SIZE
) -> Path:
    """Write a PNG rendering of the LAS, LAZ or E57 point cloud in ``source``."""
    cloud = pointclouds.read(source, max_points=pointclouds.MAX_PREVIEW_POINTS)
    points = cloud.points - (cloud.points.min(axis=0) + cloud.points.max(axis=0)) / 2
    if cloud.z_up:
        points = trimesh.transform_points(points, pointclouds.Z_UP_TO_Y_UP)
    canvas = _draw_points(points, size * SUPERSAMPLING, cloud.colors)
    return _save_canvas(canvas, target, size)


def _save_canvas(canvas: Image.Image, target: Path, size: int) -> Path:
    # The background is opaque, so RGB loses nothing and makes a smaller file.
    image = canvas.convert("RGB").resize((size, size), Image.Resampling.LANCZOS)
    target.parent.mkdir(parents=True, exist_ok=True)
    image.save(target, format="PNG")
    return target


def _draw_points(
    points: np.ndarray, canvas_size: int, colors: np.ndarray | None = None
) -> Image.Image:
    """Splat Y-up ``points`` as round dots, nearest on top, shaded by depth.

    Dots take the points' RGB, or a colour ramp over height when there is none.
    """
    if len(points) > MAX_RENDER_POINTS:
        step = int(np.ceil(len(points) / MAX_RENDER_POINTS))
        points = points[::step]
        colors = None if colors is None else colors[::step]
    if colors is None:
        base = _height_colors(points[:, 1])
    else:
        base = np.asarray(colors, dtype=np.float64)[:, :3]
    view = _to_view(points)
    pixels = np.rint(_to_screen(view, canvas_size)).astype(np.int64)
    depth = view[:, 2]
    span = float(np.ptp(depth)) or 1.0
    # z points to the viewer, so a larger depth is nearer and drawn brighter.
    shade = 0.6 + 0.4 * (depth - depth.min()) / span
    shaded = np.clip(base * shade[:, None], 0, 255).astype(np.uint8)

    radius = _dot_radius(len(points), canvas_size)
    offsets = np.array(
        [
            (dx, dy)
            for dx in range(-radius, radius + 1)
            for dy in range(-radius, radius + 1)
            if dx * dx + dy * dy <= radius * radius
        ],
        dtype=np.int64,
    )
    # Entries are ordered nearest point first, each followed by its dot's
    # pixels. np.unique returns the first occurrence of each pixel, which is
    # therefore the nearest point's.
    order = np.argsort(-depth, kind="stable")
    # Only the nearest point at each dot centre can show, so the rest are
    # dropped first. That bounds the entries below by the canvas' pixel count.
    centres = pixels[order, 1] * canvas_size + pixels[order, 0]
    _, nearest = np.unique(centres, return_index=True)
    order = order[np.sort(nearest)]
    xs = (pixels[order, 0][:, None] + offsets[None, :, 0]).ravel()
    ys = (pixels[order, 1][:, None] + offsets[None, :, 1]).ravel()
    owners = np.repeat(order, len(offsets))
    inside = (xs >= 0) & (xs < canvas_size) & (ys >= 0) & (ys < canvas_size)
    flat = ys[inside] * canvas_size + xs[inside]
    flat_pixels, first = np.unique(flat, return_index=True)

    canvas = np.empty((canvas_size * canvas_size, 3), dtype=np.uint8)
    canvas[:] = BACKGROUND[:3]
    canvas[flat_pixels] = shaded[owners[inside][first]]
    return Image.fromarray(canvas.reshape(canvas_size, canvas_size, 3), mode="RGB")


def _dot_radius(point_count: int, canvas_size: int) -> int:
    """Return a dot radius in pixels so sparse clouds still read as shapes."""
    spacing = canvas_size / np.sqrt(max(point_count, 1))
    return int(np.clip(round(spacing * 0.35), 1, canvas_size // 100))


def _height_colors(heights: np.ndarray) -> np.ndarray:
    """Return RGB from the viridis colour map, low points dark blue, high yellow."""
    from matplotlib import colormaps

    span = float(np.ptp(heights)) or 1.0
    normalised = (heights - heights.min()) / span
    return colormaps["viridis"](normalised)[:, :3] * 255.0


def _vertex_colors(mesh: trimesh.Trimesh) -> np.ndarray | None:
    """Return RGB per vertex from the mesh's colours or texture, or None."""
    visual = mesh.visual
    try:
        if visual.kind == "texture" and getattr(visual, "uv", None) is None:
            # A material without texture coordinates still has a base colour.
            color = np.asarray(visual.material.main_color, dtype=np.float64)[:3]
            return np.tile(color, (len(mesh.vertices), 1))
        if visual.kind == "texture":
            visual = visual.to_color()
        if visual.kind is None:
            return None
        colors = np.asarray(visual.vertex_colors, dtype=np.float64)
    # A broken material or texture only costs the colours, never the preview.
    except Exception:  # noqa: BLE001
        logger.warning("Reading colours failed, rendering without them", exc_info=True)
        return None
    if colors.shape != (len(mesh.vertices), 4):
        return None
    return colors[:, :3]


def _to_view(points: np.ndarray) -> np.ndarray:
    """Centre the points and rotate them into view space (y up, z to the viewer)."""
    centred = points - (points.min(axis=0) + points.max(axis=0)) / 2
    azimuth = np.radians(AZIMUTH_DEGREES)
    elevation = np.radians(ELEVATION_DEGREES)
    around_up = np.array(
        [
            [np.cos(azimuth), 0, np.sin(azimuth)],
            [0, 1, 0],
            [-np.sin(azimuth), 0, np.cos(azimuth)],
        ]
    )
    tilt = np.array(
        [
            [1, 0, 0],
            [0, np.cos(elevation), -np.sin(elevation)],
            [0, np.sin(elevation), np.cos(elevation)],
        ]
    )
    return centred @ (tilt @ around_up).T


def _to_screen(view: np.ndarray, canvas_size: int) -> np.ndarray:
    """Scale the view's x and y to fill the canvas with a margin (y points down)."""
    margin = 0.06 * canvas_size
    xy = view[:, :2]
    centre = (xy.min(axis=0) + xy.max(axis=0)) / 2
    span = float(np.ptp(xy, axis=0).max()) or 1.0
    scale = (canvas_size - 2 * margin) / span
    screen = (xy - centre) * scale
    screen[:, 1] = -screen[:, 1]
    return screen + canvas_size / 2


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)
