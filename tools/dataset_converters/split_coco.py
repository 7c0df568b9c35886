"""Seeded, class-stratified train/val split of a COCO json plus labelled-fraction subsets.

    python tools/dataset_converters/split_coco.py --ann ann.json --out-dir D \
        --val-fraction 0.2 --labelled-fraction 0.1 0.05 --seed 0

Writes D/train.json, D/val.json and D/train_<pct>pct.json (each atomically); the same input
and seed give identical files. Exit codes: 0 written, 2 bad arguments or input.
"""
import argparse
import sys

from agssp.datasets.converters.split import write_splits


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--ann', required=True, help='input COCO json')
    p.add_argument('--out-dir', required=True)
    p.add_argument('--val-fraction', type=float, default=0.2,
                   help='share of images for val.json, in [0, 1); 0 writes no val.json')
    p.add_argument('--labelled-fraction', type=float, nargs='*', default=[0.1],
                   help='labelled subset(s) of train, each in (0, 1]')
    p.add_argument('--seed', type=int, default=0)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        outputs = write_splits(args.ann, args.out_dir, args.val_fraction,
                               args.labelled_fraction, args.seed)
    except ValueError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    for path, counts in outputs.items():
        per_cat = ', '.join(f'{k}={v}' for k, v in counts['images_per_category'].items())
        print(f'{path}: images={counts["images"]} boxes={counts["boxes"]} '
              f'(images per category: {per_cat})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
