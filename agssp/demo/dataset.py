"""Writing the demo dataset: a large unlabelled pool and a small labelled COCO split."""
import json
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from agssp.core.coco import CocoWriter
from agssp.core.fileio import atomic_write_bytes, atomic_write_json
from agssp.demo.defects import DEFECT_PAINTERS
from agssp.demo.surfaces import SURFACE_KINDS, render_surface

DEFECT_CLASSES = tuple(sorted(DEFECT_PAINTERS))
SURFACE_NAMES = tuple(sorted(SURFACE_KINDS))
_SPLIT_IDS = {'unlabelled': 0, 'train': 1, 'val': 2}


def render_sample(seed, split, index, size, defect_free_fraction):
    """One image with its defects: (uint8 HxWx3, [(class, uint8 mask)], surface kind)."""
    rng = np.random.default_rng([seed, _SPLIT_IDS[split], index])
    kind = SURFACE_NAMES[index % len(SURFACE_NAMES)]
    surface = render_surface(rng, size, kind)
    defects = []
    if rng.random() >= defect_free_fraction:
        for _ in range(int(rng.integers(1, 4))):
            name = DEFECT_CLASSES[int(rng.integers(len(DEFECT_CLASSES)))]
            surface, mask = DEFECT_PAINTERS[name](rng, surface)
            if mask.any():
                defects.append((name, mask))
    sensor_noise = rng.normal(0, 2.0, surface.shape)
    grey = np.clip(surface + sensor_noise, 0, 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2), defects, kind


def _mask_box(mask):
    ys, xs = np.nonzero(mask)
    return xs.min(), ys.min(), xs.max() + 1, ys.max() + 1


def _write_png(path, image):
    ok, buf = cv2.imencode('.png', image)
    if not ok:
        raise OSError(f'could not encode {path}')
    atomic_write_bytes(path, buf.tobytes())


def _write_split(out_dir, split, count, seed, size, defect_free_fraction, coco):
    """Render ``count`` images of one split: image, union mask, and boxes into ``coco``.

    Unlabelled images go into one subfolder per surface kind (their "source dataset").
    """
    folder = 'unlabelled' if split == 'unlabelled' else f'labelled/{split}'
    for index in tqdm(range(count), desc=f'demo {split}', unit='img', leave=False):
        image, defects, kind = render_sample(seed, split, index, size, defect_free_fraction)
        name = f'{kind}/{split}_{index:05d}.png' if coco is None else f'{split}_{index:05d}.png'
        union = np.zeros(image.shape[:2], np.uint8)
        for _, mask in defects:
            union |= mask
        _write_png(Path(out_dir, folder, 'images', name), image)
        _write_png(Path(out_dir, folder, 'masks', name), union * 255)
        if coco is not None:
            image_id = coco.add_image(name, size, size)
            for cls, mask in defects:
                coco.add_box(image_id, cls, *_mask_box(mask))


def generate_demo_dataset(out_dir, num_unlabelled=600, num_train=60, num_val=60, size=256,
                          seed=0, defect_free_fraction=0.3):
    """Write the demo dataset under ``out_dir``, skipping the work when it is already complete.

    Layout: ``unlabelled/{images,masks}/<surface kind>/``,
    ``labelled/{train,val}/{images,masks}/`` and
    ``labelled/annotations/{train,val}.json`` (COCO, classes :data:`DEFECT_CLASSES`).
    Masks are the union of each image's defects (0/255). ``meta.json`` is written last and
    marks a complete set; the same arguments always give the same files.
    """
    out_dir = Path(out_dir)
    meta = dict(num_unlabelled=num_unlabelled, num_train=num_train, num_val=num_val, size=size,
                seed=seed, defect_free_fraction=defect_free_fraction,
                classes=list(DEFECT_CLASSES))
    meta_file = out_dir / 'meta.json'
    if meta_file.is_file() and json.loads(meta_file.read_text()) == meta:
        return meta
    _write_split(out_dir, 'unlabelled', num_unlabelled, seed, size, defect_free_fraction, None)
    for split, count in (('train', num_train), ('val', num_val)):
        coco = CocoWriter(DEFECT_CLASSES)
        _write_split(out_dir, split, count, seed, size, defect_free_fraction, coco)
        coco.dump(out_dir / 'labelled' / 'annotations' / f'{split}.json')
    atomic_write_json(meta_file, meta, indent=1)
    return meta
