"""The anomaly-map contract: where an image's map lives, reading one safely, resizing it,
and the data-sample field that carries it to the model.

Maps are ``.npy`` files (float16, 2-D, the method's native resolution) whose paths mirror the
image paths: ``<map_root>/<image path relative to the image root, suffix .npy>``.
"""
from pathlib import Path

import cv2
import numpy as np
import torch

from agssp.core.errors import InputFileError

ANOMALY_MAP_FIELD = 'anomaly_map'  # the data-sample field AGBP's models read


class AnomalyMapError(InputFileError):
    """A map file that is missing or unusable; the message names the file and the problem."""


def map_relpath(image_relpath) -> Path:
    """The map's path relative to the map root, for an image path relative to the image root."""
    return Path(image_relpath).with_suffix('.npy')


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


def stack_anomaly_maps(data_samples) -> torch.Tensor:
    """The batch's packed anomaly maps as one (B, 1, H, W) tensor."""
    maps = []
    for sample in data_samples:
        if ANOMALY_MAP_FIELD not in sample:
            raise KeyError(f"{sample.get('img_path', '<sample>')}: no anomaly map in the data "
                           'sample; the pipeline needs LoadAnomalyMap and PackAnomalyInputs')
        maps.append(getattr(sample, ANOMALY_MAP_FIELD))
    shapes = {tuple(m.shape) for m in maps}
    if len(shapes) != 1:
        raise ValueError(f'anomaly maps of one batch differ in size: {sorted(shapes)}; '
                         'the pipeline must bring every sample to the same input size')
    return torch.stack(maps).float()
