"""The pseudo-box rule: one anomaly map becomes single-class ``defect`` boxes for AGDP.

:func:`map_to_boxes` owns the rule; the export tool, the on-the-fly dataset and the benchmark all
call it. The threshold it binarises with comes from :mod:`agssp.map_thresholds`.
"""
import cv2
import numpy as np
import torch
from torchvision.ops import nms

from agssp.anomaly.maps_io import resize_map

PSEUDO_BOX_CLASS = 'defect'

# The paper's values; configs override them through ``box_cfg``.
DEFAULT_BOX_CFG = dict(min_area_divisor=100, min_area_floor=10, top_k=10, nms_iou=0.8)


def min_region_area(height, width, divisor=100, floor=10) -> int:
    """Smallest region kept, in pixels: ``max((H // divisor) * (W // divisor), floor)``."""
    return max((int(height) // divisor) * (int(width) // divisor), floor)


def box_cfg_with_defaults(box_cfg=None) -> dict:
    """``box_cfg`` completed with :data:`DEFAULT_BOX_CFG`; unknown keys are an error."""
    box_cfg = dict(box_cfg or {})
    unknown = set(box_cfg) - set(DEFAULT_BOX_CFG)
    if unknown:
        raise KeyError(f'unknown pseudo-box options {sorted(unknown)}; '
                       f'known: {sorted(DEFAULT_BOX_CFG)}')
    return {**DEFAULT_BOX_CFG, **box_cfg}


def map_to_boxes(anomaly_map, image_hw, threshold, min_area_divisor=100, min_area_floor=10,
                 top_k=10, nms_iou=0.8):
    """Pseudo boxes of one image from its anomaly map.

    The map is resized bilinearly to ``image_hw`` (:func:`agssp.anomaly.maps_io.resize_map`),
    binarised with ``map > threshold`` and its external contours are taken. A region (the
    pixels inside an external contour, holes included) smaller than :func:`min_region_area` is
    dropped; each kept region gives its bounding box, scored by the map's maximum inside it.
    The ``top_k`` best-scored boxes are kept, then non-maximum suppression at IoU ``nms_iou``.

    Returns:
        ``(boxes, scores)``: ``float32`` arrays of shape ``(N, 4)`` (``x1, y1, x2, y2`` in
        pixels, pixel-edge coordinates) and ``(N,)``, sorted by decreasing score.
    """
    height, width = int(image_hw[0]), int(image_hw[1])
    if np.ndim(anomaly_map) != 2:
        raise ValueError(f'expected a 2-D anomaly map, got shape {np.shape(anomaly_map)}')
    amap = resize_map(anomaly_map, (height, width))
    binary = (amap > threshold).astype(np.uint8)
    contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    min_area = min_region_area(height, width, min_area_divisor, min_area_floor)

    boxes, scores = [], []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if w * h < min_area:  # a region never holds more pixels than its box
            continue
        inside = np.zeros((h, w), np.uint8)
        cv2.drawContours(inside, [contour], -1, 1, thickness=cv2.FILLED, offset=(-x, -y))
        inside = inside.astype(bool)
        if int(inside.sum()) < min_area:
            continue
        boxes.append((x, y, x + w, y + h))
        scores.append(amap[y:y + h, x:x + w][inside].max())

    if not boxes:
        return np.zeros((0, 4), np.float32), np.zeros((0,), np.float32)
    boxes = np.asarray(boxes, np.float32)
    scores = np.asarray(scores, np.float32)
    order = np.argsort(-scores, kind='stable')[:top_k]
    boxes, scores = boxes[order], scores[order]
    keep = nms(torch.from_numpy(boxes), torch.from_numpy(scores), float(nms_iou)).numpy()
    keep = np.sort(keep)  # the input is already in score order (ties by contour order)
    return boxes[keep], scores[keep]
