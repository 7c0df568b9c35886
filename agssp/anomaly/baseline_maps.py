"""Stand-in anomaly maps for measuring the pseudo-box pipeline, not anomaly-detection methods.

- ``mask``: a ground-truth mask used as the map (1 inside the defect, 0 elsewhere). A sanity
  check: thresholding it must give back the mask's own boxes.
- ``local_contrast``: the absolute deviation of each pixel from its local median, smoothed and
  stored at a quarter of the image size. A crude image-derived map with no learning at all.

Maps are written as float16 ``.npy`` files mirroring the image paths
(:mod:`agssp.core.anomaly_maps`).
"""
import logging
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from agssp.core.anomaly_maps import map_relpath
from agssp.core.fileio import atomic_save_npy
from agssp.core.images import read_mask

logger = logging.getLogger('agssp')

BASELINE_KINDS = ('mask', 'local_contrast')


def mask_as_map(mask_path, mask_threshold=127) -> np.ndarray:
    """A mask file as a float map: 1 where the mask is ``> mask_threshold``, else 0.

    Raises :class:`~agssp.core.images.ImageReadError` (a ``ValueError``)
    when the mask is missing or unreadable.
    """
    return (read_mask(mask_path) > mask_threshold).astype(np.float32)


def local_contrast_map(image_path, median_ksize=21, sigma=3.0, scale=0.25) -> np.ndarray:
    """``|grey - median(grey)| / 255``, Gaussian-smoothed, resized by ``scale``."""
    grey = cv2.imread(str(image_path), cv2.IMREAD_GRAYSCALE)
    if grey is None:
        raise ValueError(f'{image_path}: image missing or unreadable')
    deviation = np.abs(grey.astype(np.float32) - cv2.medianBlur(grey, median_ksize)) / 255.0
    deviation = cv2.GaussianBlur(deviation, (0, 0), sigma)
    h, w = grey.shape
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(deviation, size, interpolation=cv2.INTER_AREA)


def write_baseline_maps(img_dir, out_dir, relpaths, kind, mask_suffix='.png', progress=False):
    """Write one baseline map per image; returns the list of ``dict(file, reason)`` failures."""
    if kind not in BASELINE_KINDS:
        raise ValueError(f'unknown baseline map kind {kind!r}; known: {BASELINE_KINDS}')
    img_dir, out_dir = Path(img_dir), Path(out_dir)
    failed = []
    for rel in tqdm(relpaths, desc=f'{kind} maps', unit='img', disable=not progress):
        try:
            if kind == 'mask':
                amap = mask_as_map((img_dir / rel).with_suffix(mask_suffix))
            else:
                amap = local_contrast_map(img_dir / rel)
        except ValueError as exc:
            logger.warning('no map written: %s', exc)
            failed.append(dict(file=str(img_dir / rel), reason=str(exc)))
            continue
        atomic_save_npy(out_dir / map_relpath(rel), amap.astype(np.float16))
    return failed
