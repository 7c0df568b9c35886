"""Anomaly maps across surfaces: the default SynthSeg recipe, today's per-dataset recipe and the
local-contrast baseline on Magnetic Tile, BSData and NEU-DET, in one run.

    python benchmarks/map_generalisation.py                       # full size
    python benchmarks/map_generalisation.py --max-images 120 --iterations 50   # a quick look

Transductive, as the pipeline uses the maps: each recipe trains on a dataset's whole pool
(defective images included, labels unused) and scores the same pool. Ground truth: Magnetic
Tile's masks, BSData's labelme polygons filled, NEU-DET's VOC boxes filled (images without a
label are defect-free); the true boxes are the masks' connected regions, NEU-DET's its VOC boxes.
Columns: image AUROC, pixel AUROC, pixel AP, AUPRO@0.3
(:func:`agssp.evaluation.anomaly_map_eval.evaluate_map_folder`), pseudo-box recall / precision
at IoU 0.5 and 0.3, overall and by size (:func:`agssp.evaluation.box_quality.pseudo_box_quality`)
for two box rules on the pooled ``mean_max - 0.1`` threshold: the reference rule (the
project's default) and ``grow_frac=0.5`` (regions grown to a lower threshold), training and map
time. Six more rows per dataset reuse the default recipe's trained network, its scorers and
normalisation refitted on the pool (their training time includes the refit): "default +
self-similarity" weighs the self-similarity score 1, "default, tail normalisation" puts every
score on the surprise scale (``normalisation='tail'``), "default, per-image centring" takes
each image's median off its map (``centre='image'``), "default, tail + per-image
centring" does both, "default, neighbour reference" takes off each map the per-pixel median
map of the pool images that look most like it (``centre='neighbours'``), and "default, tail +
neighbour reference" does that on the surprise scale. Then Magnetic Tile's clean protocol for the
default recipe (``benchmarks/magnetic_tile_maps.py --config configs/anomaly/synthseg.py``).

A rerun with the same ``--work-dir`` and sizes resumes: a finished row is read back from its
``row.json`` (and says so), an unfinished training resumes from its last checkpoint; delete the
folder for a fresh run.

Exit status 1 when a target of issue 12 for the default recipe is missed (the targets are
checked at any size; a reduced run says so in its header; box targets on the default rule), 2
when a dataset is missing.
"""
import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import agssp.anomaly  # noqa: E402,F401  (registration)
from agssp.anomaly.baseline_maps import write_baseline_maps  # noqa: E402
from agssp.anomaly.build import build_anomaly_model, evenly_spaced  # noqa: E402
from agssp.anomaly.synthseg.trainer import (MODEL_FILE, load_training_images,  # noqa: E402
                                            train_from_config)
from agssp.anomaly.writer import generate_anomaly_maps  # noqa: E402
from agssp.core.fileio import atomic_write_json  # noqa: E402
from agssp.core.images import list_images, read_mask  # noqa: E402
from agssp.datasets.converters.labelme import parse_labelme  # noqa: E402
from agssp.datasets.converters.masks import mask_to_boxes  # noqa: E402
from agssp.datasets.converters.voc import parse_voc_xml  # noqa: E402
from agssp.engine import load_config  # noqa: E402
from agssp.evaluation.anomaly_map_eval import evaluate_map_folder  # noqa: E402
from agssp.evaluation.anomaly_map_eval import load_manifest_scores  # noqa: E402
from agssp.evaluation.box_quality import pseudo_box_quality  # noqa: E402
from agssp.pseudo_boxes.export import export_pseudo_boxes_coco  # noqa: E402
from benchmarks import magnetic_tile_maps  # noqa: E402

DATASETS = ('magnetic_tile', 'bsdata', 'neu_det')
PER_DATASET_RECIPE = dict(magnetic_tile='synthseg_magnetic_tile.py', bsdata='synthseg_neu.py',
                          neu_det='synthseg_neu.py')
METRICS = ('image_auroc', 'pixel_auroc', 'pixel_ap', 'aupro')
# Issue 12's targets for the default recipe, transductive: (dataset, column) -> minimum.
TARGETS = {('magnetic_tile', 'pixel_auroc'): 0.85,
           ('bsdata', 'image_auroc'): 0.95, ('bsdata', 'pixel_auroc'): 0.95,
           ('bsdata', 'pixel_ap'): 0.20, ('bsdata', 'box_recall'): 0.40,
           ('bsdata', 'box_precision'): 0.20,
           ('neu_det', 'box_recall'): 0.30, ('neu_det', 'box_precision'): 0.15}
CLEAN_TARGET = 0.90      # Magnetic Tile, clean protocol: mean per-class pixel AUROC
MAX_TRAIN_SECONDS, MIN_MAPS_PER_SECOND = 600.0, 50.0
BOX_RULES = dict(reference={}, grow=dict(grow_frac=0.5))
BOX_THRESHOLD = dict(type='mean_max', offset=-0.1, group='pool')
IOUS = ('0.5', '0.3')
# rows of the default recipe's trained network refitted with other settings
REFITS = {'default + self-similarity': ('default_self_similarity',
                                        dict(weights=dict(self_similarity=1.0))),
          'default, tail normalisation': ('default_tail', dict(normalisation='tail')),
          'default, per-image centring': ('default_image_centre', dict(centre='image')),
          'default, tail + per-image centring': ('default_tail_image_centre',
                                                 dict(normalisation='tail', centre='image')),
          'default, neighbour reference': ('default_neighbours', dict(centre='neighbours')),
          'default, tail + neighbour reference': ('default_tail_neighbours',
                                                  dict(normalisation='tail',
                                                       centre='neighbours'))}


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be >= 1, got {value}')
    return value


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data', default=str(REPO.parent / 'shared' / 'data'))
    p.add_argument('--work-dir', default=str(REPO / 'work_dirs' / 'map_generalisation'))
    p.add_argument('--datasets', nargs='+', default=list(DATASETS), choices=DATASETS)
    p.add_argument('--max-images', type=_positive, default=None,
                   help='evenly spaced subset of each pool (a reduced run)')
    p.add_argument('--iterations', type=_positive, default=None,
                   help='training iterations of both recipes (default: each recipe\'s own)')
    p.add_argument('--no-clean-protocol', action='store_true',
                   help="skip Magnetic Tile's clean protocol")
    return p.parse_args(argv)


def _write_mask(path: Path, mask: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), mask.astype(np.uint8) * 255)


def prepare_pool(name: str, data: Path, out: Path, max_images=None):
    """Link the pool's images under ``out/images`` (paths kept), write a filled mask per
    defective image under ``out/masks`` (same relative path, ``.png``) and return
    ``(image relpaths, ground-truth COCO dict)``: the masks' connected regions as boxes,
    NEU-DET's own VOC boxes (overlapping boxes of one image stay apart)."""
    if name == 'magnetic_tile':
        root = data / 'magnetic-tile'
        rels = [r for r in list_images(root) if r.suffix.lower() == '.jpg']
    elif name == 'bsdata':
        root = data / 'bsdata'
        rels = [Path('data') / r for r in list_images(root / 'data')]
    else:
        root = data / 'neu-det'
        rels = [Path('IMAGES') / r for r in list_images(root / 'IMAGES')]
    if not rels:
        raise FileNotFoundError(f'{root}: no images')
    rels = evenly_spaced(sorted(rels), None if max_images is None
                         else min(max_images, len(rels)))
    images, annotations = [], []
    for index, rel in enumerate(rels, start=1):
        link = out / 'images' / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to((root / rel).resolve())
        h, w = cv2.imread(str(root / rel), cv2.IMREAD_GRAYSCALE).shape
        mask, boxes = np.zeros((h, w), bool), None
        if name == 'magnetic_tile':
            mask = read_mask(root / rel.with_suffix('.png')) > 127
        elif name == 'bsdata':
            label = root / 'label' / f'{rel.stem}.json'
            if label.is_file():
                for obj in parse_labelme(label).objects:
                    for polygon in obj.polygons:
                        filled = np.zeros((h, w), np.uint8)
                        cv2.fillPoly(filled, [np.round(polygon).astype(np.int32)], 1)
                        mask |= filled.astype(bool)
        else:
            xml = root / 'ANNOTATIONS' / f'{rel.stem}.xml'
            objects = parse_voc_xml(xml).objects if xml.is_file() else []
            boxes = [(obj.xmin, obj.ymin, obj.xmax, obj.ymax) for obj in objects]
            for x1, y1, x2, y2 in boxes:
                mask[int(y1):int(np.ceil(y2)), int(x1):int(np.ceil(x2))] = True
        if mask.any():
            _write_mask(out / 'masks' / rel.with_suffix('.png'), mask)
        images.append(dict(id=index, file_name=rel.as_posix(), height=h, width=w))
        if boxes is None:
            boxes = mask_to_boxes(mask.astype(np.uint8) * 255)
        for x1, y1, x2, y2 in boxes:
            annotations.append(dict(id=len(annotations) + 1, image_id=index, category_id=1,
                                    bbox=[float(x1), float(y1), float(x2 - x1), float(y2 - y1)],
                                    area=float((x2 - x1) * (y2 - y1)), iscrowd=0))
    gt = dict(images=images, annotations=annotations, categories=[dict(id=1, name='defect')])
    return [r.as_posix() for r in rels], gt


def synthseg_maps(config: Path, pool: Path, rels, work: Path, iterations=None):
    """Train the recipe on the pool, write its maps; returns (maps dir, train s, maps/s)."""
    cfg = load_config(config)
    if iterations is not None:
        cfg.train.iterations = iterations
    log = train_from_config(cfg, [pool / r for r in rels], work / 'train', progress=False)
    model = build_anomaly_model(dict(model=cfg.model,
                                     checkpoint=str(work / 'train' / MODEL_FILE)))
    start = time.perf_counter()
    generate_anomaly_maps(model, pool, work / 'maps', batch_size=16, num_workers=0,
                          progress=False)
    return work / 'maps', log['total_seconds'], len(rels) / (time.perf_counter() - start), \
        log.get('model', {})


def refit_maps(config: Path, checkpoint: Path, pool: Path, rels, work: Path, overrides: dict):
    """The recipe's trained network with other model settings (``overrides``; ``weights`` are
    merged into the recipe's): scorers and normalisation refitted on the pool, maps written;
    returns (maps dir, fit s, maps/s, settings)."""
    cfg = load_config(config)
    weights = {**dict(cfg.model.get('weights', {})), **dict(overrides.get('weights', {}))}
    model_cfg = {**cfg.model, **overrides, 'weights': weights}
    model = build_anomaly_model(dict(model=model_cfg, checkpoint=str(checkpoint)))
    start = time.perf_counter()
    images, skipped = load_training_images([pool / r for r in rels], model.input_size, False)
    if skipped:
        raise ValueError(f'unreadable pool images: {skipped}')
    model.fit(torch.from_numpy(images)[:, None])
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    generate_anomaly_maps(model, pool, work / 'maps', batch_size=16, num_workers=0,
                          progress=False)
    return work / 'maps', fit_s, len(rels) / (time.perf_counter() - start), model.settings()


def score(maps: Path, pool: Path, masks: Path, gt: dict, with_manifest: bool) -> dict:
    """Map metrics, and each box rule's pseudo-box rates (:data:`BOX_RULES`); the main box
    columns are the reference rule's at IoU 0.5."""
    scores = load_manifest_scores(maps) if with_manifest else None
    results = evaluate_map_folder(maps, pool, masks, scores=scores).results['overall']
    row = {k: results[k] for k in METRICS}
    row['boxes'] = {}
    for rule, box_cfg in BOX_RULES.items():
        _, writer = export_pseudo_boxes_coco(pool, maps, maps.parent / f'pseudo_boxes_{rule}.json',
                                             threshold_cfg=BOX_THRESHOLD, box_cfg=box_cfg)
        row['boxes'][rule] = pseudo_box_quality(gt, writer.to_dict())
    main = row['boxes']['reference']['overall']
    row.update(box_recall=main['recall'] or 0.0, box_precision=main['precision'] or 0.0)
    return row


def saved_row(path: Path, run: dict, compute) -> dict:
    """The row an earlier run with the same ``run`` sizes saved at ``path``, else ``compute()``,
    saved there."""
    if path.is_file():
        saved = json.loads(path.read_text(encoding='utf-8'))
        if saved.get('run') == run:
            print(f'  read back {path}', flush=True)
            return saved['row']
    row = compute()
    atomic_write_json(path, dict(run=run, row=row), indent=1)
    return row


def synthseg_row(config: str, pool: Path, masks: Path, gt: dict, rels, work: Path,
                 iterations=None) -> dict:
    """A recipe's row: trained on the pool, its maps scored."""
    maps, train_s, rate, settings = synthseg_maps(REPO / 'configs' / 'anomaly' / config, pool,
                                                  rels, work, iterations)
    return dict(score(maps, pool, masks, gt, True), train_s=train_s, maps_per_s=rate,
                recipe=config, settings=settings)


def refit_row(config: str, train_s: float, pool: Path, masks: Path, gt: dict, rels,
              work: Path, checkpoint: Path, overrides: dict) -> dict:
    """The row of a recipe's trained network refitted with other model settings
    (``overrides``); its training time is the recipe's (``train_s``) plus the refit."""
    maps, fit_s, rate, settings = refit_maps(REPO / 'configs' / 'anomaly' / config, checkpoint,
                                             pool, rels, work, overrides)
    return dict(score(maps, pool, masks, gt, True), train_s=train_s + fit_s, maps_per_s=rate,
                recipe=f'{config}, {overrides}', settings=settings)


def baseline_row(pool: Path, masks: Path, gt: dict, rels, work: Path) -> dict:
    """The local-contrast baseline's row (no training)."""
    start = time.perf_counter()
    write_baseline_maps(pool, work / 'maps', rels, 'local_contrast')
    rate = len(rels) / (time.perf_counter() - start)
    return dict(score(work / 'maps', pool, masks, gt, False), train_s=0.0, maps_per_s=rate,
                recipe='tools/make_baseline_maps.py', settings={})


def _fmt(v):
    return '-' if v is None else f'{v:.3f}'


def _rates(rates) -> str:
    return f"{_fmt(rates['recall'])} / {_fmt(rates['precision'])}"


def markdown_rows(rows, head=False) -> str:
    """Table rows ``(dataset, recipe, row)`` in Markdown, with the header when ``head``."""
    lines = []
    if head:
        names = ['dataset', 'maps', 'image AUROC', 'pixel AUROC', 'pixel AP', 'AUPRO@0.3',
                 'box R / P @0.5', 'box R / P @0.5, grow', 'box R / P @0.3',
                 'box R / P @0.3, grow', 'training (min)', 'maps/s', 'layout (alignment), input']
        lines += ['| ' + ' | '.join(names) + ' |', '|' + '---|' * len(names)]
    for name, recipe, r in rows:
        s = r['settings']
        chosen = f"{s.get('layout')} ({s.get('alignment')}), {s.get('input_size')}" if s else '-'
        boxes = [_rates(r['boxes'][rule]['by_iou'][iou]['overall'])
                 for iou in IOUS for rule in BOX_RULES]
        lines.append('| ' + ' | '.join(
            [name, f"{recipe} ({r['recipe']})", *(_fmt(r[k]) for k in METRICS), *boxes,
             f"{r['train_s'] / 60:.1f}", f"{r['maps_per_s']:.0f}", chosen]) + ' |')
    return '\n'.join(lines)


def size_rows(rows) -> str:
    """Pseudo-box recall / precision at IoU 0.5 by COCO size, each rule, in Markdown."""
    buckets = ('small', 'medium', 'large')
    lines = ['| dataset | maps | rule | ' + ' | '.join(f'{b} R / P (true boxes)' for b in buckets)
             + ' |', '|' + '---|' * (3 + len(buckets))]
    for name, recipe, r in rows:
        for rule in BOX_RULES:
            by_size = r['boxes'][rule]['by_size']
            lines.append(f'| {name} | {recipe} | {rule} | ' + ' | '.join(
                f"{_rates(by_size[b])} ({by_size[b]['gt']})" for b in buckets) + ' |')
    return '\n'.join(lines)


def clean_protocol(data: Path, work: Path, iterations=None) -> dict:
    """Magnetic Tile's clean protocol for the default recipe; returns its results.json."""
    argv = ['--config', str(REPO / 'configs' / 'anomaly' / 'synthseg.py'),
            '--data', str(data / 'magnetic-tile'), '--work-dir', str(work)]
    if iterations is not None:
        argv += ['--cfg-options', f'train.iterations={iterations}']
    if magnetic_tile_maps.main(argv) != 0:
        raise RuntimeError(f'the clean protocol failed; see {work}')
    return json.loads((work / 'results.json').read_text(encoding='utf-8'))


def write_results(path: Path, size: str, iterations, missed, rows, clean=None) -> None:
    """results.json: the run's size, missed targets, rows and, once run, the clean protocol."""
    extra = {} if clean is None else dict(clean_protocol=clean)
    atomic_write_json(path, dict(size=size, iterations=iterations, missed=missed, **extra,
                                 rows=[dict(dataset=n, maps=m, **r) for n, m, r in rows]),
                      indent=1)


def main(argv=None) -> int:
    args = parse_args(argv)
    began = time.perf_counter()
    data, work = Path(args.data), Path(args.work_dir)
    rows, missed, clean = [], [], None
    size = ('full pools' if args.max_images is None else f'at most {args.max_images} images '
            'per pool (reduced)')
    iters = "each recipe's iterations" if args.iterations is None else \
        f'{args.iterations} iterations (reduced)'
    for name in args.datasets:
        out = work / name
        try:
            rels, gt = prepare_pool(name, data, out, args.max_images)
        except FileNotFoundError as exc:
            print(f'error: {exc} (see ../shared/data/README.md)', file=sys.stderr)
            return 2
        atomic_write_json(out / 'gt.json', gt)
        pool, masks = out / 'images', out / 'masks'
        print(f'{name}: {len(rels)} images, {len(gt["annotations"])} true boxes', flush=True)
        run = dict(max_images=args.max_images, iterations=args.iterations)
        found = dict(default=saved_row(out / 'default' / 'row.json', run, lambda: synthseg_row(
            'synthseg.py', pool, masks, gt, rels, out / 'default', args.iterations)))
        for row_name, (folder, overrides) in REFITS.items():
            found[row_name] = saved_row(out / folder / 'row.json', run, lambda: refit_row(
                'synthseg.py', found['default']['train_s'], pool, masks, gt, rels,
                out / folder, out / 'default' / 'train' / MODEL_FILE, overrides))
        found['per-dataset'] = saved_row(
            out / 'per-dataset' / 'row.json', run, lambda: synthseg_row(
                PER_DATASET_RECIPE[name], pool, masks, gt, rels, out / 'per-dataset',
                args.iterations))
        found['local contrast'] = saved_row(
            out / 'baseline' / 'row.json', run,
            lambda: baseline_row(pool, masks, gt, rels, out / 'baseline'))
        default, baseline = found['default'], found['local contrast']
        for column in (*METRICS, 'box_recall', 'box_precision'):
            if np.isnan(default[column]) or np.isnan(baseline[column]):
                continue          # undefined, e.g. image AUROC of a pool without clean images
            if not default[column] > baseline[column]:
                missed.append(f'{name}: default {column} {_fmt(default[column])} does not beat '
                              f'the baseline {_fmt(baseline[column])}')
            target = TARGETS.get((name, column))
            if target is not None and not default[column] >= target:
                missed.append(f'{name}: default {column} {_fmt(default[column])} < {target}')
        if default['train_s'] > MAX_TRAIN_SECONDS:
            missed.append(f"{name}: training {default['train_s']:.0f} s > {MAX_TRAIN_SECONDS:.0f}")
        if default['maps_per_s'] < MIN_MAPS_PER_SECOND:
            missed.append(f"{name}: {default['maps_per_s']:.0f} maps/s < {MIN_MAPS_PER_SECOND:.0f}")
        new = [(name, recipe, row) for recipe, row in found.items()]
        rows += new
        print(markdown_rows(new), flush=True)     # a dataset's rows as soon as it is done
        write_results(work / 'results.json', size, args.iterations, missed, rows, clean)

    if 'magnetic_tile' in args.datasets and not args.no_clean_protocol:
        clean = saved_row(work / 'magnetic_tile_clean' / 'row.json',
                          dict(iterations=args.iterations), lambda: clean_protocol(
                              data, work / 'magnetic_tile_clean', args.iterations))
        mean = clean['mean_over_classes']['pixel_auroc']
        if not mean >= CLEAN_TARGET:
            missed.append(f'magnetic_tile clean protocol: default mean per-class pixel AUROC '
                          f'{_fmt(mean)} < {CLEAN_TARGET}')
        write_results(work / 'results.json', size, args.iterations, missed, rows, clean)

    print(f'\nTransductive (train and score the whole pool), {size}, {iters}. Box columns: '
          f'recall / precision, reference rule and grow_frac=0.5.\n')
    print(markdown_rows(rows, head=True))
    print('\nPseudo boxes by size at IoU 0.5 (COCO buckets; true boxes counted):\n')
    print(size_rows(rows))
    if clean is not None:
        print(f"\nMagnetic Tile, clean protocol ({clean['train_images']} MT_Free training images, "
              f"{clean['test_images']} test), default recipe: mean per-class " + ', '.join(
                  f'{k} {_fmt(clean["mean_over_classes"][k])}' for k in METRICS) +
              '; pooled ' + ', '.join(f'{k} {_fmt(clean["overall"][k])}' for k in METRICS))
    print(f'\nwall time {(time.perf_counter() - began) / 60:.1f} min; '
          f'written {work / "results.json"}')
    for line in missed:
        print(f'target missed: {line}')
    return 1 if missed else 0


if __name__ == '__main__':
    sys.exit(main())
