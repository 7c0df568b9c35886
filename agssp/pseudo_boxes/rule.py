"""The pseudo-box rule: one anomaly map becomes single-class ``defect`` boxes for AGDP.

:func:`map_to_boxes` owns the rule; the export tool, the on-the-fly dataset and the benchmark all
call it. The threshold it binarises with comes from :mod:`agssp.pseudo_boxes.thresholds`.

The default is the reference's rule (the paper's code). Four options serve defects it cuts
badly, all off by default: ``grow_frac`` (a per-region adaptive threshold: a region above the
threshold grows into the connected pixels above a lower one, so a large low-contrast defect is
boxed to its extent, not to its peak), ``close_frac`` (morphological closing relative to the
image, joins the fragments of a large low-contrast defect), ``merge_gap`` (merges boxes whose
gap is below a fraction of their size) and ``min_area_frac`` (the smallest region as a fraction
of the image, in place of the reference's ``(H // 100) * (W // 100)``, for small pits on large
images).
Holes are always filled: a region is everything inside an external contour, so a ring gives
one box.
"""
import cv2
import numpy as np
import torch
from torchvision.ops import nms

from agssp.core.anomaly_maps import resize_map

PSEUDO_BOX_CLASS = 'defect'

# The paper's values (the reference rule); configs override them through ``box_cfg``.
DEFAULT_BOX_CFG = dict(min_area_divisor=100, min_area_floor=10, top_k=10, nms_iou=0.8,
                       close_frac=0.0, merge_gap=None, min_area_frac=None, grow_frac=None)


def min_region_area(height, width, divisor=100, floor=10, frac=None) -> int:
    """Smallest region kept, in pixels: ``max((H // divisor) * (W // divisor), floor)`` (the
    reference), or ``max(ceil(frac * H * W), floor)`` when ``frac`` is given."""
    if frac is None:
        return max((int(height) // divisor) * (int(width) // divisor), floor)
    if not 0 <= frac < 1:
        raise ValueError(f'min_area_frac must be in [0, 1), got {frac}')
    return max(int(np.ceil(frac * int(height) * int(width))), floor)


def grow_regions(amap, threshold, grow_frac):
    """Hysteresis binarisation: the connected regions of ``amap > low`` that hold a pixel
    ``> threshold``, where ``low = threshold - grow_frac * (threshold - median(amap))`` (0: the
    plain threshold; 1: down to the map's median). Per image and unchanged by any increasing
    affine change of map and threshold together."""
    if not 0 <= grow_frac <= 1:
        raise ValueError(f'grow_frac must be in [0, 1], got {grow_frac}')
    strong = amap > threshold
    low = threshold - grow_frac * (threshold - float(np.median(amap)))
    if low >= threshold or not strong.any():
        return strong.astype(np.uint8)
    _, labels = cv2.connectedComponents((amap > low).astype(np.uint8), connectivity=8)
    seeds = np.unique(labels[strong])
    return np.isin(labels, seeds[seeds > 0]).astype(np.uint8)


def close_regions(binary, close_frac):
    """Morphological closing of a binary mask with an elliptical kernel whose side is
    ``close_frac`` of the mask's shorter side, made odd so the closing does not shift the
    mask (no change below 2 pixels)."""
    if close_frac < 0:
        raise ValueError(f'close_frac must be >= 0, got {close_frac}')
    side = int(round(close_frac * min(binary.shape)))
    if side < 2:
        return binary
    side |= 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
    return cv2.morphologyEx(binary, cv2.MORPH_CLOSE, kernel)


def merge_close_regions(regions, merge_gap):
    """Merge regions ``(box, area, score)`` while two boxes' gap (the larger of their x and y
    gaps, 0 when they touch) is ``<= merge_gap`` times the longer side of the larger of them. A merged region has the union
    box, the summed area and the best score, and takes the place of its first member."""
    if merge_gap < 0:
        raise ValueError(f'merge_gap must be >= 0, got {merge_gap}')
    boxes = np.asarray([r[0] for r in regions], np.float64).reshape(-1, 4)
    areas = [r[1] for r in regions]
    scores = [r[2] for r in regions]
    while len(boxes) > 1:
        dx = np.maximum(0, np.maximum(boxes[None, :, 0] - boxes[:, None, 2],
                                      boxes[:, None, 0] - boxes[None, :, 2]))
        dy = np.maximum(0, np.maximum(boxes[None, :, 1] - boxes[:, None, 3],
                                      boxes[:, None, 1] - boxes[None, :, 3]))
        side = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
        close = np.maximum(dx, dy) <= merge_gap * np.maximum(side[:, None], side[None, :])
        close = np.triu(close, 1)
        if not close.any():
            break
        i, j = map(int, np.argwhere(close)[0])
        boxes[i] = (min(boxes[i, 0], boxes[j, 0]), min(boxes[i, 1], boxes[j, 1]),
                    max(boxes[i, 2], boxes[j, 2]), max(boxes[i, 3], boxes[j, 3]))
        areas[i] += areas.pop(j)
        scores[i] = max(scores[i], scores.pop(j))
        boxes = np.delete(boxes, j, axis=0)
    return [(tuple(b), a, s) for b, a, s in zip(boxes.tolist(), areas, scores)]


def box_cfg_with_defaults(box_cfg=None) -> dict:
    """``box_cfg`` completed with :data:`DEFAULT_BOX_CFG`; unknown keys are an error."""
    box_cfg = dict(box_cfg or {})
    unknown = set(box_cfg) - set(DEFAULT_BOX_CFG)
    if unknown:
        raise KeyError(f'unknown pseudo-box options {sorted(unknown)}; '
                       f'known: {sorted(DEFAULT_BOX_CFG)}')
    return {**DEFAULT_BOX_CFG, **box_cfg}


def map_to_boxes(anomaly_map, image_hw, threshold, min_area_divisor=100, min_area_floor=10,
                 top_k=10, nms_iou=0.8, close_frac=0.0, merge_gap=None, min_area_frac=None,
                 grow_frac=None):
    """Pseudo boxes of one image from its anomaly map.

    The map is resized bilinearly to ``image_hw`` (:func:`agssp.core.anomaly_maps.resize_map`),
    binarised with ``map > threshold`` (grown by hysteresis, :func:`grow_regions`, when
    ``grow_frac`` is set), closed (:func:`close_regions`, when ``close_frac > 0``)
    and its external contours are taken. Each region (the pixels inside an external contour,
    holes included) gives its bounding box, scored by the map's maximum inside it; with
    ``merge_gap`` set, close regions are merged (:func:`merge_close_regions`). Regions smaller
    than :func:`min_region_area` are dropped. The ``top_k`` best-scored boxes are kept, then
    non-maximum suppression at IoU ``nms_iou``. The defaults are the reference's rule.

    Returns:
        ``(boxes, scores)``: ``float32`` arrays of shape ``(N, 4)`` (``x1, y1, x2, y2`` in
        pixels, pixel-edge coordinates) and ``(N,)``, sorted by decreasing score.
    """
    height, width = int(image_hw[0]), int(image_hw[1])
    if np.ndim(anomaly_map) != 2:
        raise ValueError(f'expected a 2-D anomaly map, got shape {np.shape(anomaly_map)}')
    amap = resize_map(anomaly_map, (height, width))
    binary = ((amap > threshold).astype(np.uint8) if grow_frac is None
              else grow_regions(amap, threshold, grow_frac))
    binary = close_regions(binary, close_frac)
    contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    min_area = min_region_area(height, width, min_area_divisor, min_area_floor, min_area_frac)
    # Without merging, a small region is final: skip it early (a region never holds more
    # pixels than its box). Fragments may add up, so merging sees every region.
    early = min_area if merge_gap is None else 0

    regions = []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if w * h < early:
            continue
        inside = np.zeros((h, w), np.uint8)
        cv2.drawContours(inside, [contour], -1, 1, thickness=cv2.FILLED, offset=(-x, -y))
        inside = inside.astype(bool)
        regions.append(((x, y, x + w, y + h), int(inside.sum()),
                        amap[y:y + h, x:x + w][inside].max()))
    if merge_gap is not None:
        regions = merge_close_regions(regions, merge_gap)
    regions = [r for r in regions if r[1] >= min_area]

    if not regions:
        return np.zeros((0, 4), np.float32), np.zeros((0,), np.float32)
    boxes = np.asarray([r[0] for r in regions], np.float32)
    scores = np.asarray([r[2] for r in regions], np.float32)
    order = np.argsort(-scores, kind='stable')[:top_k]
    boxes, scores = boxes[order], scores[order]
    keep = nms(torch.from_numpy(boxes), torch.from_numpy(scores), float(nms_iou)).numpy()
    keep = np.sort(keep)  # the input is already in score order (ties by contour order)
    return boxes[keep], scores[keep]
