"""Reading an image and turning it into anomaly-model input: one rule for every method.

Images are decoded strictly (a truncated or non-image file raises :class:`ImageReadError`
instead of yielding a half-grey picture), turned upright by their EXIF orientation (as cv2 and
mmcv decode them, so maps align with what detectors see), converted to RGB and resized to the
model's ``input_size`` with bicubic interpolation, aspect ratio not kept, as float32 in [0, 255].
"""
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image, ImageOps

from agssp.core.images import ImageReadError


def read_rgb(path) -> np.ndarray:
    """Decode an image file fully into an RGB uint8 array (H, W, 3)."""
    path = Path(path)
    try:
        with Image.open(path) as img:
            img.load()
            rgb = np.asarray(ImageOps.exif_transpose(img).convert('RGB'))
    except Exception as exc:  # unreadable, truncated, not an image, unsupported mode
        raise ImageReadError(path, f'cannot decode image ({type(exc).__name__}: {exc})') from exc
    if rgb.size == 0:
        raise ImageReadError(path, f'empty image of shape {rgb.shape}')
    return rgb


def to_model_input_uint8(rgb: np.ndarray, input_size) -> torch.Tensor:
    """RGB uint8 (H, W, 3) -> uint8 tensor (3, h, w) at ``input_size`` (h, w), bicubic.

    The compact form that data-loader workers hand over; ``.float()`` gives the model input.
    """
    h, w = int(input_size[0]), int(input_size[1])
    if rgb.shape[:2] != (h, w):
        rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_CUBIC)
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))


def to_model_input(rgb: np.ndarray, input_size) -> torch.Tensor:
    """RGB uint8 (H, W, 3) -> float32 tensor (3, h, w) in [0, 255] at ``input_size`` (h, w)."""
    return to_model_input_uint8(rgb, input_size).float()


def load_model_input(path, input_size) -> torch.Tensor:
    """:func:`read_rgb` then :func:`to_model_input`."""
    return to_model_input(read_rgb(path), input_size)
