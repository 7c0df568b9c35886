"""Mask dataset (Magnetic Tile layout) -> COCO json: one box per 8-connected mask component.

    python tools/dataset_converters/masks_to_coco.py --root D/magnetic-tile --out ann.json

Layout: ``<root>/<prefix><Class>/<image-subdir>/x.jpg`` beside its mask ``x.png``. Images of the
background folders (MT_Free) are kept without boxes. Exit codes: 0 written, 1 nothing converted,
2 bad arguments or input folders, 3 written with skips under --fail-on-skip.
"""
import argparse
import sys

from agssp.datasets.converters.masks import masks_to_coco
from agssp.datasets.converters.report import convert_and_report


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--root', required=True, help='dataset folder holding the class folders')
    p.add_argument('--out', required=True, help='output COCO json')
    p.add_argument('--prefix', default='MT_', help='class folder prefix (default: MT_)')
    p.add_argument('--image-subdir', default='Imgs', help="images+masks sub-folder ('' none)")
    p.add_argument('--mask-suffix', default='.png')
    p.add_argument('--background', nargs='*', default=['Free'],
                   help='defect-free classes: images kept, no boxes, no category')
    p.add_argument('--classes', nargs='+', help='category names in id order (default: sorted)')
    p.add_argument('--threshold', type=float, default=127, help='foreground: mask > threshold')
    p.add_argument('--min-area', type=int, default=1, help='smallest component kept (pixels)')
    p.add_argument('--fail-on-skip', action='store_true', help='exit 3 when inputs were skipped')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    code, _ = convert_and_report(
        lambda progress: masks_to_coco(
            args.root, prefix=args.prefix, image_subdir=args.image_subdir,
            mask_suffix=args.mask_suffix, background=tuple(args.background), classes=args.classes,
            threshold=args.threshold, min_area=args.min_area, progress=progress),
        args.out, args.fail_on_skip, desc='masks')
    return code


if __name__ == '__main__':
    sys.exit(main())
