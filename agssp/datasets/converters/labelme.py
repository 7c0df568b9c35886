"""labelme JSON (polygons, rectangles, circles) -> COCO boxes with segmentation polygons.

Coordinates: labelme points are continuous pixel coordinates (COCO convention); a shape's box is
the extent of its points, accepted by :func:`~agssp.core.coco.checked_box`.
Shapes sharing a non-null ``group_id`` and label are one object (one box, several polygons).
Each annotation keeps its polygon(s) as COCO ``segmentation``; ``area`` stays the box area.
"""
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

import cv2
import numpy as np

from agssp.core.coco import BoxError, CocoWriter, checked_box
from agssp.core.errors import InputFileError
from agssp.core.images import ImageIndex, ImageReadError, read_image_size
from agssp.datasets.converters.annotated_images import read_annotated_images

UNLABELLED_MODES = ('report', 'defect_free')


class LabelmeFormatError(InputFileError):
    """A JSON file that is not a usable labelme file; the message names the file."""


@dataclass
class LabelmeShape:
    """One object: its label, its polygon(s) and the 1-based indices of its shapes."""
    label: str
    polygons: List[np.ndarray]
    indices: List[int]


@dataclass
class LabelmeFile:
    """One parsed labelme file; a bad shape is recorded in ``shape_errors``, not raised."""
    json_path: Path
    image_path: Optional[str]
    size: Optional[tuple]
    objects: List[LabelmeShape] = field(default_factory=list)
    shape_errors: List[tuple] = field(default_factory=list)


def shape_polygon(shape) -> np.ndarray:
    """``(N, 2)`` float polygon of a labelme shape; raises ``ValueError`` naming the problem.

    Polygons need 3 points and a non-zero area; a rectangle is its two corners, a circle its
    bounding square (centre, point on the rim). Lines, line strips and points have no area.
    """
    kind = shape.get('shape_type') or 'polygon'
    try:
        points = np.asarray(shape.get('points'), dtype=np.float64).reshape(-1, 2)
    except (TypeError, ValueError):
        raise ValueError('malformed shape: points are not a list of (x, y) pairs') from None
    if not np.isfinite(points).all():
        raise ValueError('malformed shape: non-finite point')
    if kind == 'polygon':
        x, y = points[:, 0], points[:, 1]
        area = 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))
        if len(points) < 3 or area <= 0:
            raise ValueError(f'degenerate polygon: {len(points)} point(s), area {area:g}')
        return points
    if kind == 'rectangle' and len(points) == 2:
        (x1, y1), (x2, y2) = points.min(0), points.max(0)
        return np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]])
    if kind == 'circle' and len(points) == 2:
        radius = float(np.hypot(*(points[1] - points[0])))
        (cx, cy) = points[0]
        return np.array([[cx - radius, cy - radius], [cx + radius, cy - radius],
                         [cx + radius, cy + radius], [cx - radius, cy + radius]])
    raise ValueError(f'unsupported shape: {kind!r} with {len(points)} point(s) has no area')


def _size_of(data):
    height, width = data.get('imageHeight'), data.get('imageWidth')
    if isinstance(height, (int, float)) and isinstance(width, (int, float)) \
            and height > 0 and width > 0:
        return int(width), int(height)
    return None


def parse_labelme(path) -> LabelmeFile:
    """Parse one labelme JSON file; raises :class:`LabelmeFormatError` when it is unusable."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise LabelmeFormatError(path, f'malformed JSON: {exc}') from exc
    if not isinstance(data, dict) or not isinstance(data.get('shapes'), list):
        raise LabelmeFormatError(path, 'malformed JSON: no "shapes" list (not a labelme file)')
    parsed = LabelmeFile(path, data.get('imagePath') or None, _size_of(data))
    groups = defaultdict(list)
    for index, shape in enumerate(data['shapes'], start=1):
        label = shape.get('label') if isinstance(shape, dict) else None
        if not isinstance(label, str) or not label.strip():
            parsed.shape_errors.append((index, 'malformed shape: no label'))
            continue
        try:
            polygon = shape_polygon(shape)
        except ValueError as exc:
            parsed.shape_errors.append((index, str(exc)))
            continue
        group = shape.get('group_id')
        key = (label.strip(), group) if group is not None else (label.strip(), None, index)
        groups[key].append((index, polygon))
    for key, members in groups.items():
        parsed.objects.append(LabelmeShape(key[0], [p for _, p in members],
                                           [i for i, _ in members]))
    parsed.objects.sort(key=lambda o: o.indices[0])
    return parsed


def _shape_path(json_path, indices):
    return f'{json_path}#shape' + '+'.join(str(i) for i in indices)


def _resolve_image(index, parsed):
    """The image a labelme file names (``imagePath``'s file name), else its own stem."""
    tried = []
    for name in ([Path(parsed.image_path.replace('\\', '/')).name] if parsed.image_path
                 else []) + [parsed.json_path.stem]:
        try:
            return index.resolve(name)
        except LookupError as exc:
            tried.append(str(exc))
    raise LookupError('; '.join(tried))


def labelme_to_coco(label_dir, img_dir, data_root=None, classes=None, class_map=None,
                    unlabelled='report', progress=None) -> CocoWriter:
    """Convert a folder of labelme files to a COCO writer (call ``.dump(out)`` on it).

    Args:
        label_dir: folder searched recursively for ``*.json`` (may be ``img_dir`` itself).
        img_dir: image folder; each file is matched by its ``imagePath`` file name, or its stem.
        data_root: folder the COCO ``file_name`` values are relative to (default ``img_dir``).
        classes: category names in id order; default: every (mapped) label found, sorted.
        class_map: ``{labelme label: class name}`` applied first; unmapped labels stay as they are.
        unlabelled: what an image without a labelme file is: ``'report'`` (a listed skip) or
            ``'defect_free'`` (kept as an image with no boxes).
        progress: optional wrapper for an iterable (e.g. ``tqdm``).

    Listed skips (``writer.skipped``): malformed JSON, missing/ambiguous/unreadable image, image
    size differing from the file's ``imageWidth``/``imageHeight``, an image labelled twice, an
    unannotated image (``unlabelled='report'``), and per shape: malformed or degenerate shape,
    unsupported shape type, unknown class, box outside the image.
    """
    if unlabelled not in UNLABELLED_MODES:
        raise ValueError(f'unlabelled must be one of {UNLABELLED_MODES}, got {unlabelled!r}')
    label_dir, img_dir = Path(label_dir), Path(img_dir)
    for folder, what in ((label_dir, 'labelme folder'), (img_dir, 'image folder')):
        if not folder.is_dir():
            raise FileNotFoundError(f'{what} not found: {folder}')
    img_dir = img_dir.resolve()
    data_root = Path(data_root).resolve() if data_root is not None else img_dir
    if not img_dir.is_relative_to(data_root):
        raise ValueError(f'image folder {img_dir} is not under data_root {data_root}')
    class_map = dict(class_map or {})
    index = ImageIndex(img_dir)
    jobs = [(path, img_dir, index) for path in sorted(label_dir.rglob('*.json'))]
    records, skips, used = read_annotated_images(jobs, parse_labelme, _resolve_image, data_root,
                                                 'file', progress)

    unannotated = [img_dir / rel for rel in index.relpaths if img_dir / rel not in used]
    if unlabelled == 'report':
        skips += [(p, 'unannotated image: no labelme file names this image (pass '
                      'unlabelled="defect_free" to keep it without boxes)') for p in unannotated]
    if classes is None:
        classes = sorted({class_map.get(o.label, o.label) for p, *_ in records
                          for o in p.objects})
    writer = CocoWriter(classes)
    for path, reason in skips:
        writer.skip(path, reason)
    known = set(classes)
    for parsed, file_name, height, width in records:
        image_id = writer.add_image(file_name.as_posix(), height, width)
        for shape_index, reason in parsed.shape_errors:
            writer.skip(_shape_path(parsed.json_path, [shape_index]), reason)
        for obj in parsed.objects:
            name = class_map.get(obj.label, obj.label)
            where = _shape_path(parsed.json_path, obj.indices)
            if name not in known:
                writer.skip(where, f'unknown class: {name!r} is not one of {list(classes)}')
                continue
            points = np.concatenate(obj.polygons)
            try:
                box = checked_box(*points.min(0), *points.max(0), width, height)
            except BoxError as exc:
                writer.skip(where, str(exc))
                continue
            writer.add_box(image_id, name, *box,
                           segmentation=[p.ravel().round(2).tolist() for p in obj.polygons])
    if unlabelled == 'defect_free':
        for path in unannotated:
            try:
                height, width = read_image_size(path)
            except ImageReadError as exc:
                writer.skip(path, exc.reason)
                continue
            writer.add_image(path.relative_to(data_root).as_posix(), height, width)
    return writer


def write_polygon_masks(coco, mask_dir, file_names=None) -> int:
    """Binary PNG masks (255 = object) from COCO polygons, at ``<mask_dir>/<file stem>.png``
    mirroring each image's ``file_name``; images without objects get an empty mask.

    ``file_names`` limits the masks to those images. Returns the number of masks written.
    """
    mask_dir = Path(mask_dir)
    polygons = defaultdict(list)
    for ann in coco['annotations']:
        polygons[ann['image_id']] += ann.get('segmentation') or []
    keep = set(file_names) if file_names is not None else None
    count = 0
    for image in coco['images']:
        if keep is not None and image['file_name'] not in keep:
            continue
        mask = np.zeros((image['height'], image['width']), np.uint8)
        for flat in polygons[image['id']]:
            cv2.fillPoly(mask, [np.round(np.asarray(flat).reshape(-1, 2)).astype(np.int32)], 255)
        out = mask_dir / Path(image['file_name']).with_suffix('.png')
        out.parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(out), mask):
            raise OSError(f'could not write mask {out}')
        count += 1
    return count
