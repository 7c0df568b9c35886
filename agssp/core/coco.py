"""COCO detection files: the one rule for accepting a box, and a writer that counts and lists
bad inputs instead of dropping them."""
import logging
import math
from pathlib import Path

from agssp.core.fileio import atomic_write_json

logger = logging.getLogger('agssp')

# Coordinates this far (in pixels) past the image border are rounding noise and are clipped;
# anything further out makes the box an error.
EDGE_TOLERANCE_PX = 0.01


class BoxError(ValueError):
    """A box that cannot be used; the message starts with the kind of problem."""


def checked_box(x1, y1, x2, y2, width, height):
    """Return the ``xyxy`` box (pixels, continuous coordinates) clipped to the image border.

    Raises :class:`BoxError` for a non-finite or degenerate box (``x2 <= x1`` or ``y2 <= y1``) and
    for a box reaching more than :data:`EDGE_TOLERANCE_PX` outside ``[0, width] x [0, height]``.
    """
    box = tuple(float(v) for v in (x1, y1, x2, y2))
    if not all(math.isfinite(v) for v in box):
        raise BoxError(f'non-finite box: {box}')
    x1, y1, x2, y2 = box
    if x2 <= x1 or y2 <= y1:
        raise BoxError(f'degenerate box: {box} has x2 <= x1 or y2 <= y1')
    tol = EDGE_TOLERANCE_PX
    if x1 < -tol or y1 < -tol or x2 > width + tol or y2 > height + tol:
        raise BoxError(f'box outside the image: {box} is not within {width}x{height} (w x h)')
    return max(x1, 0.0), max(y1, 0.0), min(x2, float(width)), min(y2, float(height))



def coco_xyxy(bbox) -> list:
    """A COCO ``[x, y, w, h]`` box as ``[x1, y1, x2, y2]``."""
    x, y, w, h = bbox
    return [x, y, x + w, y + h]


class CocoWriter:
    """Collect images, boxes and skipped inputs, then write one valid COCO json atomically.

    Args:
        categories: class names; category ids are 1-based in this order.
    """

    def __init__(self, categories):
        if len(set(categories)) != len(categories):
            raise ValueError(f'duplicate category names: {list(categories)}')
        self.categories = list(categories)
        self._cat_ids = {name: i + 1 for i, name in enumerate(self.categories)}
        self.images = []
        self.annotations = []
        self.skipped = []

    def add_image(self, file_name, height, width, **extra) -> int:
        """Register an image and return its id (images without boxes are kept)."""
        image_id = len(self.images) + 1
        self.images.append(dict(id=image_id, file_name=str(file_name), height=int(height),
                                width=int(width), **extra))
        return image_id

    def add_box(self, image_id, category, x1, y1, x2, y2, score=None, **extra) -> int:
        """Add an ``xyxy`` box in pixels to an image; returns the annotation id."""
        if category not in self._cat_ids:
            raise KeyError(f'unknown category {category!r}; known: {self.categories}')
        w, h = float(x2) - float(x1), float(y2) - float(y1)
        if w <= 0 or h <= 0:
            raise ValueError(f'empty box {(x1, y1, x2, y2)} on image {image_id}')
        ann = dict(id=len(self.annotations) + 1, image_id=int(image_id),
                   category_id=self._cat_ids[category],
                   bbox=[float(x1), float(y1), w, h], area=w * h, iscrowd=0, **extra)
        if score is not None:
            ann['score'] = float(score)
        self.annotations.append(ann)
        return ann['id']

    def skip(self, path, reason):
        """Count, log and list an input that could not be used."""
        self.skipped.append(dict(file=str(path), reason=str(reason)))
        logger.warning('skipped %s: %s', path, reason)

    def to_dict(self) -> dict:
        return dict(images=self.images, annotations=self.annotations,
                    categories=[dict(id=i + 1, name=n) for i, n in enumerate(self.categories)])

    def summary(self) -> dict:
        with_boxes = len({a['image_id'] for a in self.annotations})
        return dict(images=len(self.images), images_with_boxes=with_boxes,
                    boxes=len(self.annotations), skipped=len(self.skipped))

    def dump(self, out_file) -> Path:
        """Write the COCO json atomically; skipped inputs go to ``<out>.skipped.json`` beside it."""
        out_file = Path(out_file)
        atomic_write_json(out_file, self.to_dict())
        skipped_file = out_file.with_name(out_file.stem + '.skipped.json')
        if self.skipped:
            atomic_write_json(skipped_file, self.skipped, indent=1)
        elif skipped_file.exists():
            skipped_file.unlink()
        return out_file
