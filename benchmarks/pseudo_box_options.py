"""Pseudo-box rule options on a pipeline's own maps: recall and precision against its pool truth.

    python benchmarks/pseudo_box_options.py work_dirs/pipeline_neu_det
    python benchmarks/pseudo_box_options.py work_dirs/pipeline_bsdata --variants "" grow_frac=0.5

Reads a pipeline work dir whose data, anomaly-map and pseudo-box stages are done: the pool
(``01_data/pool``), its maps (``03_anomaly_maps/maps``), the pseudo-box stage's threshold
config and the data stage's true boxes of the pool (``unlabelled_boxes`` in ``data.json``:
NEU-DET's VOC boxes, BSData's polygons, your ``unlabelled_boxes``). Each variant is a set of
box options of :func:`agssp.pseudo_boxes.rule.map_to_boxes` (``""``: the reference rule) and is
exported over the whole pool, then scored on the images the truth covers (one-to-one matching,
:func:`agssp.evaluation.box_quality.pseudo_box_quality`), overall and per source. Nothing is
trained; a variant takes seconds.
"""
import argparse
import ast
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from agssp.evaluation.box_quality import pseudo_box_quality, rates_text  # noqa: E402
from agssp.pseudo_boxes.export import coco_by_source, export_pseudo_boxes_coco  # noqa: E402
from agssp.pseudo_boxes.rule import box_cfg_with_defaults  # noqa: E402

DEFAULT_VARIANTS = ('', 'grow_frac=0.25', 'grow_frac=0.5', 'grow_frac=0.75', 'close_frac=0.05',
                    'merge_gap=0.05', 'min_area_frac=1e-3', 'grow_frac=0.5,min_area_frac=1e-3')
IOUS = (0.5, 0.3)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('pipeline_dir', help='a pipeline work dir (stages 1, 3 and 5 done)')
    p.add_argument('--variants', nargs='+', default=list(DEFAULT_VARIANTS),
                   help='box options as key=value[,key=value]; "" is the reference rule '
                        '(default: %(default)s)')
    p.add_argument('--workers', type=int, default=2)
    return p.parse_args(argv)


def parse_variant(text) -> dict:
    """``'grow_frac=0.5,min_area_frac=1e-3'`` -> checked box options (``''``: none); each value
    keeps its literal's type (``top_k=5`` an int, ``1e-3`` a float, ``None``)."""
    options = {}
    for item in filter(None, text.split(',')):
        key, sep, value = item.partition('=')
        if not sep:
            raise SystemExit(f'variant {text!r}: expected key=value items, got {item!r}')
        try:
            options[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            raise SystemExit(f'variant {text!r}: {item!r} is not key=<number or None>') from None
    try:
        box_cfg_with_defaults(options)
    except KeyError as exc:
        raise SystemExit(f'variant {text!r}: {exc.args[0]}') from None
    return options


def pipeline_inputs(pipeline_dir: Path) -> dict:
    """The pool, maps, threshold config and pool truth of a pipeline work dir."""
    data_file = pipeline_dir / '01_data' / 'data.json'
    stage_file = pipeline_dir / '05_pseudo_boxes' / 'stage_done.json'
    maps = pipeline_dir / '03_anomaly_maps' / 'maps'
    for path in (data_file, stage_file, maps):
        if not path.exists():
            raise SystemExit(f'{path} not found: run the pipeline up to its pseudo-box stage')
    info = json.loads(data_file.read_text())
    if not info.get('unlabelled_boxes'):
        raise SystemExit(f'{data_file}: the data stage has no true boxes of the pool '
                         '(unlabelled_boxes), so boxes cannot be scored')
    settings = json.loads(stage_file.read_text())['settings']
    return dict(pool=Path(info['unlabelled_dir']), maps=maps,
                threshold=settings['threshold'], box_cfg=settings.get('box_cfg') or {},
                truth=json.loads(Path(info['unlabelled_boxes']).read_text()),
                exclude_suffixes=info.get('exclude_suffixes', []))


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    inputs = pipeline_inputs(Path(args.pipeline_dir))
    variants = [(text, parse_variant(text)) for text in args.variants]
    by_source = coco_by_source(inputs['truth'])
    truth = dict(all=inputs['truth'], **(by_source if len(by_source) > 1 else {}))
    covered = {im['file_name'] for im in inputs['truth']['images']}
    print(f"pool {inputs['pool']}; truth: {len(covered)} images, "
          f"{len(inputs['truth']['annotations'])} boxes, sources {sorted(by_source)}; "
          f"threshold {inputs['threshold']}; pipeline box options {inputs['box_cfg'] or 'none'}")
    head = ['box options', 'boxes']
    head += [f'{where} @{iou}' for iou in IOUS for where in truth]
    head += ['recall @0.5 small / medium / large']
    print('| ' + ' | '.join(head) + ' |')
    print('|' + '---|' * len(head))
    with tempfile.TemporaryDirectory() as tmp:
        for text, options in variants:
            box_cfg = {**inputs['box_cfg'], **options}
            _, writer = export_pseudo_boxes_coco(
                inputs['pool'], inputs['maps'], Path(tmp) / 'boxes.json',
                threshold_cfg=inputs['threshold'], box_cfg=box_cfg, workers=args.workers,
                exclude_suffixes=inputs['exclude_suffixes'])
            pred = writer.to_dict()
            pred_by = dict(all=pred, **coco_by_source(pred))
            kept = {im['id'] for im in pred['images'] if im['file_name'] in covered}
            boxes = sum(a['image_id'] in kept for a in pred['annotations'])
            cells = [text or 'reference', str(boxes)]
            quality = {}
            for iou in IOUS:
                for where in truth:
                    quality[iou, where] = pseudo_box_quality(
                        truth[where], pred_by.get(where, dict(pred, images=[], annotations=[])),
                        iou)
                    cells.append(rates_text(quality[iou, where]['overall']))
            sizes = quality[0.5, 'all']['by_size']
            cells.append(' / '.join('-' if sizes[s]['recall'] is None else
                                    f"{sizes[s]['recall']:.2f}" for s in sizes))
            print('| ' + ' | '.join(cells) + ' |', flush=True)
    print(f'wall time {time.perf_counter() - start:.0f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
