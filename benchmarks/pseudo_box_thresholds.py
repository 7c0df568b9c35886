"""Pseudo-box threshold per source dataset vs pooled, on the NEU-DET + Magnetic Tile pool.

    python benchmarks/pseudo_box_thresholds.py      # about 5-10 min on 2 cores (SynthSeg)

Builds the unlabelled pool as ``configs/pipeline/neu_det.py``'s data stage does (NEU-DET's
training split + all Magnetic Tile images, one first-level folder per source), trains SynthSeg
with that config's anomaly settings and writes the pool's maps, all under ``--work-dir`` (reused
when already there). Then exports the pseudo boxes with ``mean_max - 0.1`` per source and
pooled, each with the offset's unit chosen by ``scale='auto'`` (the default) and with
``scale='unit'`` (the reference's offset in map values), and prints recall / precision against
the true boxes (NEU-DET's VOC boxes, Magnetic Tile's mask components) at IoU 0.5 and 0.3,
overall and per source, as a Markdown table.
"""
import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import cv2  # noqa: E402

import agssp.anomaly  # noqa: E402,F401  (registration)
from agssp.anomaly.build import build_anomaly_model  # noqa: E402
from agssp.anomaly.synthseg.trainer import MODEL_FILE, train_from_config  # noqa: E402
from agssp.anomaly.writer import generate_anomaly_maps  # noqa: E402
from agssp.core.coco import CocoWriter  # noqa: E402
from agssp.core.images import list_images  # noqa: E402
from agssp.datasets.converters.masks import mask_to_boxes  # noqa: E402
from agssp.engine import load_config  # noqa: E402
from agssp.evaluation.box_quality import pseudo_box_quality, rates_text  # noqa: E402
from agssp.pipeline.config_edit import load_stage_config  # noqa: E402
from agssp.pipeline.data_sources import prepare_data  # noqa: E402
from agssp.pseudo_boxes.export import coco_by_source, export_pseudo_boxes_coco  # noqa: E402
from agssp.pseudo_boxes.thresholds import map_source  # noqa: E402

MODES = (('source', 'auto'), ('pool', 'auto'), ('source', 'unit'), ('pool', 'unit'))
IOUS = (0.5, 0.3)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--pipeline-config', default=str(REPO / 'configs' / 'pipeline' / 'neu_det.py'),
                   help='pipeline config whose data and anomaly sections are used')
    p.add_argument('--work-dir', default=str(REPO / 'work_dirs' / 'pseudo_box_thresholds'))
    p.add_argument('--workers', type=int, default=2)
    return p.parse_args(argv)


def magnetic_tile_boxes(mt_root: Path, writer: CocoWriter, known=(), prefix='magnetic_tile'):
    """Add every Magnetic Tile image not in ``known`` with its mask components (mask > 127) as
    true boxes."""
    for rel in list_images(mt_root):
        if rel.suffix.lower() == '.png' or f'{prefix}/{rel.as_posix()}' in known:
            continue
        mask_path = mt_root / rel.with_suffix('.png')
        mask = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
        if mask is None:
            raise FileNotFoundError(f'Magnetic Tile mask missing or unreadable: {mask_path}')
        image_id = writer.add_image(f'{prefix}/{rel.as_posix()}', *mask.shape[:2])
        for box in mask_to_boxes(mask):
            writer.add_box(image_id, 'defect', *box.tolist())


def pool_ground_truth(info: dict, mt_root: Path, out_file: Path) -> dict:
    """One COCO dict of the pool's true boxes: the data stage's (NEU-DET's) and Magnetic Tile's."""
    neu = json.loads(Path(info['unlabelled_boxes']).read_text())
    writer = CocoWriter(['defect'])
    boxes_of = {}
    for ann in neu['annotations']:
        boxes_of.setdefault(ann['image_id'], []).append(ann['bbox'])
    for image in neu['images']:
        image_id = writer.add_image(image['file_name'], image['height'], image['width'])
        for x, y, w, h in boxes_of.get(image['id'], []):
            writer.add_box(image_id, 'defect', x, y, x + w, y + h)
    magnetic_tile_boxes(mt_root, writer, known={im['file_name'] for im in neu['images']})
    writer.dump(out_file)
    return writer.to_dict()


def make_maps(cfg, info: dict, work: Path, log) -> Path:
    """SynthSeg trained on the pool (as the pipeline's anomaly stage), then the pool's maps."""
    anomaly = cfg.anomaly
    model_cfg = load_stage_config(anomaly['config'], anomaly.get('overrides'))
    model_dir, maps_dir = work / 'synthseg', work / 'maps'
    if not (model_dir / MODEL_FILE).is_file():
        root = Path(info['unlabelled_dir'])
        start = time.perf_counter()
        train_from_config(model_cfg, [root / rel for rel in list_images(root)], model_dir,
                          resume=True)
        log(f'SynthSeg trained in {(time.perf_counter() - start) / 60:.1f} min')
    model_cfg.checkpoint = str(model_dir / MODEL_FILE)
    start = time.perf_counter()
    generate_anomaly_maps(build_anomaly_model(model_cfg), info['unlabelled_dir'], maps_dir,
                          batch_size=model_cfg.get('batch_size', 16),
                          num_workers=model_cfg.get('num_workers', 2),
                          settings=dict(config=anomaly['config'], checkpoint=model_cfg.checkpoint))
    log(f'maps ready in {(time.perf_counter() - start) / 60:.1f} min')
    return maps_dir


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    cfg = load_config(args.pipeline_config)
    work = Path(args.work_dir)
    data_cfg = dict(cfg.data)
    for key in ('neu_det_root', 'magnetic_tile_root'):
        path = (REPO / data_cfg[key]).resolve()
        if not path.is_dir():
            print(f'error: {key} not found at {path} (see ../shared/data/README.md)',
                  file=sys.stderr)
            return 1
        data_cfg[key] = str(path)
    (work / 'data').mkdir(parents=True, exist_ok=True)
    info = prepare_data(data_cfg, work / 'data')
    pool = Path(info['unlabelled_dir'])
    gt = pool_ground_truth(info, Path(data_cfg['magnetic_tile_root']), work / 'pool_gt.json')
    sources = sorted({map_source(im['file_name']) for im in gt['images']})
    print(f"pool: {info['num_unlabelled']} images, sources {sources}; "
          f"{len(gt['annotations'])} true boxes")
    maps_dir = make_maps(cfg, info, work, print)

    rows = []
    for group, scale in MODES:
        threshold = dict(type='mean_max', offset=-0.1, group=group, scale=scale)
        summary, writer = export_pseudo_boxes_coco(
            pool, maps_dir, work / f'boxes_{group}_{scale}.json', threshold_cfg=threshold,
            workers=args.workers)
        pred = dict(all=writer.to_dict(), **coco_by_source(writer.to_dict()))
        truth = dict(all=gt, **coco_by_source(gt))
        quality = {(iou, where): pseudo_box_quality(truth[where], pred[where], iou)
                   for iou in IOUS for where in ('all', *sources)}
        rows.append((group, summary, quality))

    used = rows[0][1]['threshold']['scale']
    print(f'\nSynthSeg maps of the pool; scale=auto used {used!r}. Recall / precision, '
          'one-to-one matching.\n')
    head = ['threshold', 'scale', 'thresholds by source', 'boxes', 'images with boxes']
    for iou in IOUS:
        head += [f'all @{iou}'] + [f'{s} @{iou}' for s in sources]
    print('| ' + ' | '.join(head) + ' |')
    print('|' + '---|' * len(head))
    for group, summary, quality in rows:
        t = summary['threshold']
        cells = [f"{'per source' if group == 'source' else 'pooled'} mean_max - 0.1",
                 f"{t['cfg']['scale']} ({t['scale']})",
                 ', '.join(f'{s} {v:.3f}' for s, v in t['by_source'].items()),
                 str(summary['boxes']), f"{summary['images_with_boxes']} / {summary['images']}"]
        for iou in IOUS:
            cells += [rates_text(quality[(iou, where)]['overall']) for where in ('all', *sources)]
        print('| ' + ' | '.join(cells) + ' |')
    counts = {s: (len(c['images']), len(c['annotations'])) for s, c in coco_by_source(gt).items()}
    print('\n(images, true boxes) by source: ' + ', '.join(f'{s} {n}' for s, n in counts.items()))
    print(f'wall time {(time.perf_counter() - start) / 60:.1f} min')
    return 0


if __name__ == '__main__':
    sys.exit(main())
