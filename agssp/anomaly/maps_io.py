"""Where an image's anomaly map lives, and reading one safely.

Maps are ``.npy`` files (float16, 2-D, the method's native resolution) whose paths mirror the
image paths: ``<map_root>/<image path relative to the image root, suffix .npy>``.
"""
from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff')


class AnomalyMapError(ValueError):
    """A map file that is missing or unusable; the message names the file and the problem."""

    def __init__(self, path, reason):
        super().__init__(f'{path}: {reason}')
        self.path, self.reason = str(path), reason


def map_relpath(image_relpath) -> Path:
    """The map's path relative to the map root, for an image path relative to the image root."""
    return Path(image_relpath).with_suffix('.npy')


def list_images(img_root):
    """Sorted image paths relative to ``img_root``, found recursively by suffix."""
    img_root = Path(img_root)
    if not img_root.is_dir():
        raise FileNotFoundError(f'image folder not found: {img_root}')
    return sorted(p.relative_to(img_root) for p in img_root.rglob('*')
                  if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def load_anomaly_map(path) -> np.ndarray:
    """Load a map as float32; it must be a 2-D, finite, non-empty numeric array."""
    path = Path(path)
    if not path.is_file():
        raise AnomalyMapError(path, 'map file not found')
    try:
        arr = np.load(path, allow_pickle=False)
    except Exception as exc:  # corrupt header, pickled object, truncated file
        raise AnomalyMapError(path, f'not a readable .npy array ({exc})') from exc
    if arr.ndim != 2 or arr.size == 0:
        raise AnomalyMapError(path, f'expected a non-empty 2-D map, got shape {arr.shape}')
    if not np.issubdtype(arr.dtype, np.number):
        raise AnomalyMapError(path, f'expected a numeric map, got dtype {arr.dtype}')
    arr = arr.astype(np.float32)
    if not np.isfinite(arr).all():
        raise AnomalyMapError(path, 'map holds NaN or inf values')
    return arr


def resize_map(anomaly_map: np.ndarray, hw) -> np.ndarray:
    """The one rule for bringing a map to another resolution: bilinear, as float32 (H, W).

    Pixel metrics, overlays and pseudo boxes compare a map with an image or mask of size ``hw``
    through this function.
    """
    h, w = int(hw[0]), int(hw[1])
    anomaly_map = np.asarray(anomaly_map, dtype=np.float32)
    if anomaly_map.shape == (h, w):
        return anomaly_map.copy()
    return cv2.resize(anomaly_map, (w, h), interpolation=cv2.INTER_LINEAR)
