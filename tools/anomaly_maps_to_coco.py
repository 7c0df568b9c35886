"""Threshold anomaly maps into single-class pseudo-defect boxes (AGDP) and write them as COCO.

Example:
    python tools/anomaly_maps_to_coco.py --maps work_dirs/maps/mt --img-dir data/mt \
        --out work_dirs/pseudo/mt.json --workers 2 --exclude-suffix .png --draw 16

Writes ``ann.json`` (images without boxes included), ``ann.summary.json`` (images, images with
boxes, boxes, skipped inputs, threshold) and, if anything was skipped, ``ann.skipped.json``.
Exit codes: 0 written, 1 no image could be used, 2 bad folders/options or no usable map for the
dataset-level threshold.
"""
import argparse
import json
import logging
import sys
from pathlib import Path

from agssp.pseudo_boxes.export import export_pseudo_boxes_coco
from agssp.pseudo_boxes.rule import DEFAULT_BOX_CFG
from agssp.visualization.boxes import draw_coco_sample


def threshold_cfg_from_args(args) -> dict:
    if args.threshold == 'mean_max':
        return dict(type='mean_max', offset=args.offset, group=args.group, scale=args.scale)
    if args.threshold == 'absolute':
        if args.value is None:
            raise SystemExit('--threshold absolute needs --value')
        return dict(type='absolute', value=args.value)
    if args.threshold == 'quantile':
        return dict(type='quantile', q=args.quantile)
    return dict(type='otsu')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--maps', required=True, help='map folder (.npy, paths mirror the images)')
    p.add_argument('--img-dir', required=True, help='image folder (searched recursively)')
    p.add_argument('--out', required=True, help='COCO json to write')
    p.add_argument('--workers', type=int, default=1, help='processes for the per-image pass')
    p.add_argument('--exclude-suffix', action='append', default=[],
                   help='image suffix to ignore, e.g. .png for mask files beside the images '
                   '(repeatable)')
    p.add_argument('--threshold', default='mean_max',
                   choices=['mean_max', 'absolute', 'quantile', 'otsu'])
    p.add_argument('--offset', type=float, default=-0.1,
                   help='mean_max: added to the mean of the map maxima (times --scale\'s unit)')
    p.add_argument('--group', choices=['source', 'pool'], default='source',
                   help='mean_max: one threshold per source dataset (first-level folder of the '
                   'map folder; default) or one for the whole map set')
    p.add_argument('--scale', choices=['auto', 'unit', 'spread'], default='auto',
                   help="mean_max: the offset's unit: 1 (unit), the group's value range "
                   "(spread), or 1 when every map lies in [0, 1] and the range otherwise (auto)")
    p.add_argument('--value', type=float, help='absolute: the threshold')
    p.add_argument('--quantile', type=float, default=0.99, help='quantile: per-image q')
    p.add_argument('--top-k', type=int, default=DEFAULT_BOX_CFG['top_k'])
    p.add_argument('--nms-iou', type=float, default=DEFAULT_BOX_CFG['nms_iou'])
    p.add_argument('--min-area-divisor', type=int, default=DEFAULT_BOX_CFG['min_area_divisor'])
    p.add_argument('--min-area-floor', type=int, default=DEFAULT_BOX_CFG['min_area_floor'])
    p.add_argument('--min-area-frac', type=float, default=DEFAULT_BOX_CFG['min_area_frac'],
                   help='smallest region as a fraction of the image area (replaces '
                        '--min-area-divisor; default: the reference rule)')
    p.add_argument('--close-frac', type=float, default=DEFAULT_BOX_CFG['close_frac'],
                   help='close the binary map with a kernel of this fraction of the shorter '
                        'image side first (fills holes, joins fragments; 0: off, the reference)')
    p.add_argument('--merge-gap', type=float, default=DEFAULT_BOX_CFG['merge_gap'],
                   help='merge regions whose gap is <= this times the larger box\'s longer side '
                        '(default: no merging, the reference)')
    p.add_argument('--grow-frac', type=float, default=DEFAULT_BOX_CFG['grow_frac'],
                   help='grow each region above the threshold into the connected pixels above '
                        'threshold - f * (threshold - the map\'s median), f in [0, 1] '
                        '(default: off, the reference)')
    p.add_argument('--no-cache', action='store_true',
                   help='recompute the dataset-level threshold instead of using the cache')
    p.add_argument('--draw', type=int, default=0, metavar='N',
                   help='also draw N random images with their boxes as PNG')
    p.add_argument('--draw-dir', help='where the drawings go (default: <out stem>_drawings/)')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(message)s')
    box_cfg = dict(top_k=args.top_k, nms_iou=args.nms_iou,
                   min_area_divisor=args.min_area_divisor, min_area_floor=args.min_area_floor,
                   min_area_frac=args.min_area_frac, close_frac=args.close_frac,
                   merge_gap=args.merge_gap, grow_frac=args.grow_frac)
    try:
        summary, writer = export_pseudo_boxes_coco(
            args.img_dir, args.maps, args.out, threshold_cfg=threshold_cfg_from_args(args),
            box_cfg=box_cfg, workers=args.workers, exclude_suffixes=args.exclude_suffix,
            use_cache=not args.no_cache, progress=True)
    except (OSError, ValueError, KeyError) as exc:  # missing folders, no usable map, bad options
        print(f'error: {exc}', file=sys.stderr)
        return 2
    if args.draw > 0:
        out = Path(args.out)
        draw_dir = args.draw_dir or out.with_name(out.stem + '_drawings')
        drawn = draw_coco_sample(writer.to_dict(), args.img_dir, draw_dir, args.draw)
        summary['drawings'] = f'{len(drawn)} PNG in {draw_dir}'
    shown = {k: v for k, v in summary.items() if k != 'skipped_inputs'}
    shown['threshold'] = {k: v for k, v in shown['threshold'].items() if k != 'failed'}
    print(json.dumps(shown, indent=1))
    for item in summary['skipped_inputs']:
        print(f"skipped {item['file']}: {item['reason']}")
    return 0 if summary['images'] > 0 else 1


if __name__ == '__main__':
    sys.exit(main())
