"""The pipeline's first stage: where the unlabelled pool and the labelled split come from."""
from pathlib import Path

import cv2

from agssp.anomaly.maps_io import list_images
from agssp.datasets.coco_writer import CocoWriter
from agssp.datasets.converters.masks import mask_to_boxes


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


DATA_SOURCES = {'demo': prepare_demo}


def prepare_data(data_cfg: dict, out) -> dict:
    """Run the data source named by ``data_cfg['type']``; returns the description the stages use."""
    kind = data_cfg.get('type')
    if kind not in DATA_SOURCES:
        raise KeyError(f'unknown data type {kind!r}; known: {sorted(DATA_SOURCES)}')
    return DATA_SOURCES[kind](data_cfg, Path(out))
