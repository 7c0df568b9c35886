"""The pipeline's first stage: where the unlabelled pool and the labelled split come from.

A data source returns one description (saved as ``01_data/data.json``) that every later stage
reads: the pool folder (first-level subfolders = source datasets), its optional masks and true
boxes (to score maps and pseudo boxes), the labelled train file(s) per seed and the held-out file.
"""
import logging
import os
from pathlib import Path

import cv2

from agssp.anomaly.maps_io import list_images
from agssp.datasets.coco_writer import CocoWriter
from agssp.datasets.converters.masks import mask_to_boxes
from agssp.datasets.converters.split import (fraction_tag, labelled_subset, load_coco,
                                             split_train_val)
from agssp.fileio import atomic_write_json

logger = logging.getLogger(__name__)


def masks_to_defect_boxes(img_dir, mask_dir, out_file) -> Path:
    """Single-class ground-truth boxes of a folder from its mirrored masks (one per component)."""
    writer = CocoWriter(['defect'])
    for rel in list_images(img_dir):
        mask = cv2.imread(str(Path(mask_dir) / rel.with_suffix('.png')), cv2.IMREAD_GRAYSCALE)
        if mask is None:
            writer.skip(Path(mask_dir) / rel.with_suffix('.png'), 'mask missing or unreadable')
            continue
        image_id = writer.add_image(rel.as_posix(), *mask.shape[:2])
        for box in mask_to_boxes(mask):
            writer.add_box(image_id, 'defect', *box.tolist())
    return writer.dump(out_file)


def prepare_demo(data_cfg: dict, out: Path) -> dict:
    """Generate (or reuse) the embedded demo data; describe it for the later stages."""
    from agssp.demo import generate_demo_dataset
    root = Path(data_cfg['root'])
    params = {k: v for k, v in data_cfg.items() if k not in ('type', 'root')}
    meta = generate_demo_dataset(root, **params)
    unlabelled = root / 'unlabelled' / 'images'
    gt_boxes = masks_to_defect_boxes(unlabelled, root / 'unlabelled' / 'masks',
                                     out / 'unlabelled_gt_boxes.json')
    return dict(
        unlabelled_dir=str(unlabelled.resolve()),
        unlabelled_mask_dir=str((root / 'unlabelled' / 'masks').resolve()),
        unlabelled_boxes=str(gt_boxes.resolve()),
        sources=sorted(p.name for p in unlabelled.iterdir() if p.is_dir()),
        train_ann=str((root / 'labelled' / 'annotations' / 'train.json').resolve()),
        val_ann=str((root / 'labelled' / 'annotations' / 'val.json').resolve()),
        train_img_dir=str((root / 'labelled' / 'train' / 'images').resolve()) + '/',
        val_img_dir=str((root / 'labelled' / 'val' / 'images').resolve()) + '/',
        classes=list(meta['classes']),
        num_unlabelled=meta['num_unlabelled'], num_train=meta['num_train'],
        num_val=meta['num_val'], exclude_suffixes=[])


def _require_dir(path, what) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f'{what} not found: {path} (see ../shared/data/README.md, or '
                                f'point the pipeline config\'s data section at your copy)')
    return path.resolve()


def _link(src: Path, dst: Path):
    """A symbolic link ``dst -> src`` (the pool never copies the datasets)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.is_symlink() or dst.exists():
        dst.unlink()
    os.symlink(src, dst)


def _convert_neu_det(root: Path, out: Path) -> dict:
    """All of NEU-DET (both folder pairs) as one COCO file, skips listed beside it."""
    from agssp.datasets.converters.voc import voc_to_coco
    writer = voc_to_coco([(root / 'ANNOTATIONS', root / 'IMAGES'),
                          (root / 'Validation_Annotations', root / 'Validation_Images')],
                         data_root=root)
    if writer.skipped:
        logger.warning('NEU-DET conversion skipped %d input(s), listed in %s',
                       len(writer.skipped), out / 'neu_det_all.skipped.json')
    return load_coco(writer.dump(out / 'neu_det_all.json'))


def prepare_neu_det(data_cfg: dict, out: Path) -> dict:
    """Real NEU-DET with a fixed held-out split and a seeded, stratified labelled fraction per
    seed; the unlabelled pool links NEU-DET's training images (held-out ones stay out) and
    Magnetic Tile's images (not its masks), one subfolder per source dataset.
    """
    root = _require_dir(data_cfg['neu_det_root'], 'NEU-DET folder')
    mt_root = _require_dir(data_cfg['magnetic_tile_root'], 'Magnetic Tile folder') \
        if data_cfg.get('magnetic_tile_root') else None
    coco = _convert_neu_det(root, out)
    train, val = split_train_val(coco, data_cfg.get('val_fraction', 0.2),
                                 data_cfg.get('split_seed', 0))
    atomic_write_json(out / 'train.json', train)
    val_ann = atomic_write_json(out / 'val.json', val)
    fraction = data_cfg.get('labelled_fraction', 0.1)
    train_anns, num_train = {}, {}
    for seed in data_cfg.get('labelled_seeds', [0]):
        labelled = labelled_subset(train, fraction, seed)
        name = f'train_{fraction_tag(fraction)}_seed{seed}.json'
        train_anns[str(seed)] = str(atomic_write_json(out / name, labelled).resolve())
        num_train[str(seed)] = len(labelled['images'])

    pool = out / 'pool'
    gt = CocoWriter(['defect'])
    boxes_of = {}
    for ann in train['annotations']:
        boxes_of.setdefault(ann['image_id'], []).append(ann['bbox'])
    for image in train['images']:
        rel = Path('neu_det') / image['file_name']
        _link(root / image['file_name'], pool / rel)
        image_id = gt.add_image(rel.as_posix(), image['height'], image['width'])
        for x, y, w, h in boxes_of.get(image['id'], []):
            gt.add_box(image_id, 'defect', x, y, x + w, y + h)
    if mt_root is not None:
        for rel in list_images(mt_root):
            if rel.suffix.lower() != '.png':
                _link(mt_root / rel, pool / 'magnetic_tile' / rel)
    gt_boxes = gt.dump(out / 'unlabelled_gt_boxes.json')
    first = str(data_cfg.get('labelled_seeds', [0])[0])
    return dict(
        unlabelled_dir=str(pool.resolve()), unlabelled_mask_dir=None,
        unlabelled_boxes=str(gt_boxes.resolve()),
        sources=sorted(p.name for p in pool.iterdir() if p.is_dir()),
        train_ann=train_anns[first], train_anns=train_anns, val_ann=str(val_ann.resolve()),
        train_img_dir=str(root) + '/', val_img_dir=str(root) + '/',
        classes=[c['name'] for c in sorted(coco['categories'], key=lambda c: c['id'])],
        num_unlabelled=len(list_images(pool)), num_train=num_train[first],
        num_train_per_seed=num_train, num_val=len(val['images']), exclude_suffixes=[])


DATA_SOURCES = {'demo': prepare_demo, 'neu_det': prepare_neu_det}


def prepare_data(data_cfg: dict, out) -> dict:
    """Run the data source named by ``data_cfg['type']``; returns the description the stages use."""
    kind = data_cfg.get('type')
    if kind not in DATA_SOURCES:
        raise KeyError(f'unknown data type {kind!r}; known: {sorted(DATA_SOURCES)}')
    return DATA_SOURCES[kind](data_cfg, Path(out))
