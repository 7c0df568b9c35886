"""Pixel masks -> boxes (one per 8-connected component) -> COCO.

The folder layout is Magnetic Tile's: ``<root>/<prefix><Class>/<image_subdir>/`` holds each image
``x.jpg`` beside its mask ``x.png`` (same stem). The category is the folder name without the
prefix; background folders (``MT_Free``) are no category and their images are kept without boxes.
"""
import logging
from pathlib import Path

import cv2
import numpy as np

from agssp.core.coco import BoxError, CocoWriter, checked_box
from agssp.core.images import ImageIndex, ImageReadError, read_image_size, read_mask

logger = logging.getLogger('agssp')


def mask_to_boxes(mask, threshold=127, min_area=1) -> np.ndarray:
    """Boxes of the 8-connected components of ``mask > threshold``.

    Args:
        mask: 2-D array (any numeric dtype; a bool mask is used as is).
        threshold: pixels strictly above it are foreground.
        min_area: components with fewer pixels are dropped.

    Returns:
        ``(N, 4)`` float32 ``xyxy`` boxes in continuous pixel coordinates (a component covering
        columns ``c0..c1`` gives ``x1=c0, x2=c1+1``), in cv2's label order (raster scan).
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f'expected a 2-D mask, got shape {mask.shape}')
    foreground = mask if mask.dtype == bool else mask > threshold
    _, _, stats, _ = cv2.connectedComponentsWithStats(foreground.astype(np.uint8), connectivity=8)
    stats = stats[1:]  # label 0 is the background
    stats = stats[stats[:, cv2.CC_STAT_AREA] >= min_area]
    x, y = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    w, h = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    return np.stack([x, y, x + w, y + h], axis=1).astype(np.float32).reshape(-1, 4)


def category_of_folder(folder_name, prefix='MT_'):
    """Category name of a class folder: its name without ``prefix``."""
    return folder_name[len(prefix):] if prefix and folder_name.startswith(prefix) else folder_name


def masks_to_coco(root, prefix='MT_', image_subdir='Imgs', mask_suffix='.png',
                  background=('Free',), classes=None, threshold=127, min_area=1,
                  progress=None) -> CocoWriter:
    """Convert a Magnetic-Tile-style mask dataset to a COCO writer (call ``.dump(out)``).

    Args:
        root: dataset folder; every sub-folder is a class folder. COCO ``file_name`` values are
            relative to it (``MT_Crack/Imgs/x.jpg``); each image also records its ``mask_file``.
        prefix: class folder prefix removed to get the category (``MT_Crack`` -> ``Crack``).
        image_subdir: sub-folder of a class folder holding images and masks ('' for none).
        mask_suffix: suffix of mask files; every other image file is an image.
        background: categories whose images are defect-free: kept, no boxes, not a category.
        classes: category names in id order; default: the non-background folders, sorted.
        threshold, min_area: see :func:`mask_to_boxes`.
        progress: optional wrapper for an iterable (e.g. ``tqdm``) to show progress.

    Listed skips: a class folder without ``image_subdir`` or of an unknown class, an image
    without mask or a mask without image, an unreadable image or mask, a mask whose size differs
    from its image, and a non-empty mask in a background folder (its image is kept, no boxes).
    A defect-class image whose mask is empty is kept without boxes (logged as a warning).
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f'dataset folder not found: {root}')
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    found = [category_of_folder(f.name, prefix) for f in folders]
    if classes is None:
        classes = sorted(c for c in found if c not in background)
    writer = CocoWriter(classes)

    jobs = []
    for folder, category in zip(folders, found):
        if category not in background and category not in classes:
            writer.skip(folder, f'unknown class: folder category {category!r} is not one of '
                                f'{list(classes)}')
            continue
        img_dir = folder / image_subdir if image_subdir else folder
        if not img_dir.is_dir():
            writer.skip(folder, f'bad layout: no {image_subdir!r} sub-folder')
            continue
        images = ImageIndex(img_dir, exclude_suffixes=(mask_suffix,))
        image_stems = {rel.with_suffix('') for rel in images.relpaths}
        for mask_path in sorted(img_dir.rglob(f'*{mask_suffix}')):
            if mask_path.relative_to(img_dir).with_suffix('') not in image_stems:
                writer.skip(mask_path, 'missing image: no image has this mask\'s stem')
        jobs += [(img_dir / rel, category) for rel in images.relpaths]

    for image_path, category in (progress(jobs) if progress else jobs):
        mask_path = image_path.with_suffix(mask_suffix)
        if not mask_path.is_file():
            writer.skip(image_path, f'missing mask: {mask_path.name} not found')
            continue
        try:
            height, width = read_image_size(image_path)
        except ImageReadError as exc:
            writer.skip(image_path, exc.reason)
            continue
        try:
            mask = read_mask(mask_path)
        except ImageReadError as exc:
            writer.skip(mask_path, exc.reason)
            continue
        if mask.shape != (height, width):
            writer.skip(image_path, f'mask size mismatch: image is {width}x{height}, mask '
                                    f'{mask_path.name} is {mask.shape[1]}x{mask.shape[0]} (w x h)')
            continue
        boxes = mask_to_boxes(mask, threshold, min_area)
        image_id = writer.add_image(image_path.relative_to(root), height, width,
                                    mask_file=str(mask_path.relative_to(root)))
        if category in background:
            if len(boxes):
                writer.skip(mask_path, f'background mask not empty: {len(boxes)} component(s) '
                                       f'ignored, image kept without boxes')
            continue
        if not len(boxes):
            logger.warning('%s: mask of class %s is empty; image kept without boxes',
                           mask_path, category)
        for index, box in enumerate(boxes, start=1):
            try:
                writer.add_box(image_id, category, *checked_box(*box, width, height))
            except BoxError as exc:
                writer.skip(f'{mask_path}#component{index}', str(exc))
    return writer
