"""Drawing boxes on images as PNG, for looking at pseudo boxes (or any COCO boxes)."""
import logging
import random
from pathlib import Path

import cv2
import numpy as np

from agssp.core.coco import coco_xyxy
from agssp.core.fileio import atomic_write_bytes

logger = logging.getLogger('agssp')


def draw_boxes(image, boxes, scores=None, color=(0, 0, 255)) -> np.ndarray:
    """A BGR copy of ``image`` with ``xyxy`` boxes (and their scores) drawn on it."""
    canvas = image.copy() if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    thickness = max(1, round(max(canvas.shape[:2]) / 300))
    for i, box in enumerate(np.asarray(boxes, dtype=np.float32).reshape(-1, 4)):
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        cv2.rectangle(canvas, (x1, y1), (max(x1, x2 - 1), max(y1, y2 - 1)), color, thickness)
        if scores is not None:
            cv2.putText(canvas, f'{float(scores[i]):.2f}', (x1, max(10, y1 - 3)),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.35 * thickness, color, thickness)
    return canvas


def save_png(path, image) -> Path:
    """Write an image as PNG, atomically."""
    ok, buf = cv2.imencode('.png', image)
    if not ok:
        raise ValueError(f'could not encode {path} as PNG')
    return atomic_write_bytes(path, buf.tobytes())


def draw_coco_sample(coco, img_dir, out_dir, count, seed=0):
    """Draw ``count`` random images of a COCO dict with their boxes as PNG files.

    Half of the sample (or as many as there are) has boxes, the rest has none.

    Returns the written paths. Images that cannot be read are logged and left out.
    """
    img_dir, out_dir = Path(img_dir), Path(out_dir)
    by_image = {}
    for ann in coco['annotations']:
        by_image.setdefault(ann['image_id'], []).append(ann)
    rng = random.Random(seed)
    with_boxes = [img for img in coco['images'] if img['id'] in by_image]
    without = [img for img in coco['images'] if img['id'] not in by_image]
    images = rng.sample(with_boxes, min((count + 1) // 2, len(with_boxes)))
    images += rng.sample(without, min(count - len(images), len(without)))
    written = []
    for img in images:
        image = cv2.imread(str(img_dir / img['file_name']), cv2.IMREAD_COLOR)
        if image is None:
            logger.warning('not drawn: %s cannot be read', img_dir / img['file_name'])
            continue
        anns = by_image.get(img['id'], [])
        boxes = [coco_xyxy(a['bbox']) for a in anns]
        scores = [a['score'] for a in anns] if all('score' in a for a in anns) else None
        name = img['file_name'].replace('/', '__').rsplit('.', 1)[0] + '.png'
        written.append(save_png(out_dir / name, draw_boxes(image, boxes, scores)))
    return written
