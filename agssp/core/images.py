"""Image files: listing them, reading their size without decoding, reading masks."""
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from agssp.core.errors import InputFileError

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff')

# EXIF orientations that swap width and height when a decoder (cv2, mmcv) applies them.
_TRANSPOSING_ORIENTATIONS = (5, 6, 7, 8)
_EXIF_ORIENTATION_TAG = 0x0112


class ImageReadError(InputFileError):
    """An image file that cannot be opened; the message names the file and the problem."""


def read_image_size(path):
    """``(height, width)`` of an image as cv2/mmcv decode it, read from the file header only.

    The EXIF orientation is honoured, as ``cv2.imread`` does. Raises :class:`ImageReadError`
    when the file is missing or not a readable image.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(path, 'missing image: file not found')
    try:
        with Image.open(path) as img:
            width, height = img.size
            orientation = img.getexif().get(_EXIF_ORIENTATION_TAG)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(path, f'unreadable image: {exc}') from exc
    if width <= 0 or height <= 0:
        raise ImageReadError(path, f'unreadable image: empty size {width}x{height}')
    if orientation in _TRANSPOSING_ORIENTATIONS:
        width, height = height, width
    return height, width


class ImageIndex:
    """The images under a folder (recursively), looked up by relative path or by file stem."""

    def __init__(self, img_dir, exclude_suffixes=()):
        self.img_dir = Path(img_dir)
        excluded = {s.lower() for s in exclude_suffixes}
        self.relpaths = [p for p in list_images(self.img_dir) if p.suffix.lower() not in excluded]
        self._by_stem = defaultdict(list)
        for rel in self.relpaths:
            self._by_stem[rel.stem].append(rel)

    def resolve(self, filename):
        """Relative path of the image named ``filename``.

        An exact match wins; otherwise the image is found by stem, so a name given without its
        suffix (or with another one) still resolves. Raises ``LookupError`` when no image, or
        more than one, has that stem.
        """
        name = Path(filename)
        exact = self.img_dir / name
        if name.suffix.lower() in IMAGE_SUFFIXES and exact.is_file():
            return name
        stem = name.stem if name.suffix.lower() in IMAGE_SUFFIXES else name.name
        candidates = self._by_stem.get(stem, [])
        if not candidates:
            raise LookupError(f'no image with stem {stem!r} in {self.img_dir}')
        if len(candidates) > 1:
            raise LookupError(f'several images with stem {stem!r} in {self.img_dir}: '
                              f'{[str(c) for c in candidates]}')
        return candidates[0]


def list_images(img_root):
    """Sorted image paths relative to ``img_root``, found recursively by suffix."""
    img_root = Path(img_root)
    if not img_root.is_dir():
        raise FileNotFoundError(f'image folder not found: {img_root}')
    return sorted(p.relative_to(img_root) for p in img_root.rglob('*')
                  if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def read_mask(path) -> np.ndarray:
    """A mask file as a 2-D uint8 array (grey); :class:`ImageReadError` when unreadable."""
    mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise ImageReadError(path, 'unreadable mask: cv2 cannot decode it')
    return mask
