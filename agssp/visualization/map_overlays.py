"""Pictures of anomaly maps: image | mask | map (colour-coded over the image), saved as PNG.

All maps of one evaluation share one colour scale (``value_range``: the lowest map value seen to
the 99th percentile of the maps' maxima), so a quiet map of a defect-free image looks quiet.
"""
import logging
from pathlib import Path
from typing import List

import cv2
import numpy as np

from agssp.core.anomaly_maps import load_anomaly_map, map_relpath, resize_map
from agssp.core.fileio import atomic_write_bytes
from agssp.evaluation.anomaly_map_eval import mask_path, read_binary_mask

logger = logging.getLogger('agssp')

TITLE_HEIGHT = 18


def titled(panel: np.ndarray, title: str) -> np.ndarray:
    """A BGR panel with a title strip above it."""
    strip = np.zeros((TITLE_HEIGHT, panel.shape[1], 3), np.uint8)
    cv2.putText(strip, title, (3, TITLE_HEIGHT - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                (255, 255, 255), 1, cv2.LINE_AA)
    return np.vstack([strip, panel])


def render_overlay(image_bgr: np.ndarray, mask: np.ndarray, anomaly_map: np.ndarray,
                   value_range) -> np.ndarray:
    """One BGR picture: the image, its mask, and the map (JET) blended over the image with the
    mask outline in green."""
    h, w = image_bgr.shape[:2]
    mask = cv2.resize(mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
    low, high = value_range
    scaled = (resize_map(anomaly_map, (h, w)) - low) / max(high - low, 1e-12)
    heat = cv2.applyColorMap((np.clip(scaled, 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_JET)
    blended = cv2.addWeighted(image_bgr, 0.5, heat, 0.5, 0)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(blended, contours, -1, (0, 255, 0), 1)
    mask_panel = cv2.cvtColor(mask * 255, cv2.COLOR_GRAY2BGR)
    gap = np.full((h + TITLE_HEIGHT, 4, 3), 255, np.uint8)
    return np.hstack([titled(image_bgr, 'image'), gap, titled(mask_panel, 'mask'), gap,
                      titled(blended, 'map')])


def save_overlays(evaluation, maps_dir, img_dir, mask_root, out_dir,
                  mask_suffix='.png') -> List[Path]:
    """Save the overlay of every sample image of an evaluation as ``out_dir/<rel>.png``."""
    written = []
    for rels in evaluation.samples.values():
        for rel in rels:
            image = cv2.imread(str(Path(img_dir) / rel), cv2.IMREAD_COLOR)
            if image is None:
                logger.warning('no overlay for %s: cv2 cannot decode the image', rel)
                continue
            mpath = mask_path(rel, mask_root, mask_suffix)
            mask = read_binary_mask(mpath) if mpath.is_file() else np.zeros(image.shape[:2], bool)
            amap = load_anomaly_map(Path(maps_dir) / map_relpath(rel))
            picture = render_overlay(image, mask, amap, evaluation.value_range)
            ok, data = cv2.imencode('.png', picture)
            if not ok:
                raise RuntimeError(f'cannot encode the overlay of {rel} as PNG')
            written.append(atomic_write_bytes(Path(out_dir) / Path(rel).with_suffix('.png'),
                                              data.tobytes()))
    return written
