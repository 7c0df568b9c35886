"""labelme JSON polygons -> one COCO json (boxes + segmentation polygons, optional PNG masks).

    python tools/dataset_converters/labelme_to_coco.py \
        --label-dir ../shared/data/bsdata/label --img-dir ../shared/data/bsdata/data \
        --out bsdata.json --unlabelled defect_free [--mask-dir bsdata_masks]

Exit codes: 0 written, 1 nothing converted, 2 bad arguments or input folders, 3 written with
skips under --fail-on-skip. Skipped inputs are listed in ``<out stem>.skipped.json``.
"""
import argparse
import sys

from agssp.datasets.converters.labelme import UNLABELLED_MODES, labelme_to_coco, write_polygon_masks
from agssp.datasets.converters.report import convert_and_report


def _mapping(items):
    mapping = {}
    for item in items or []:
        label, sep, name = item.partition('=')
        if not sep or not label or not name:
            raise argparse.ArgumentTypeError(f'--class-map expects LABEL=CLASS, got {item!r}')
        mapping[label] = name
    return mapping


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--label-dir', required=True, help='folder of labelme *.json (recursive)')
    p.add_argument('--img-dir', required=True, help='image folder')
    p.add_argument('--out', required=True, help='output COCO json')
    p.add_argument('--classes', nargs='+', help='class names in id order (default: all labels '
                                                'found, sorted)')
    p.add_argument('--class-map', nargs='+', metavar='LABEL=CLASS',
                   help='rename labelme labels before matching --classes')
    p.add_argument('--unlabelled', choices=UNLABELLED_MODES, default='report',
                   help='images without a labelme file: report them as skips (default) or keep '
                        'them as defect-free images with no boxes')
    p.add_argument('--data-root', help='folder file_name is relative to (default: --img-dir)')
    p.add_argument('--mask-dir', help='also write one PNG mask per converted image here')
    p.add_argument('--fail-on-skip', action='store_true', help='exit 3 when inputs were skipped')
    args = p.parse_args(argv)
    try:
        args.class_map = _mapping(args.class_map)
    except argparse.ArgumentTypeError as exc:
        p.error(str(exc))
    return args


def main(argv=None):
    args = parse_args(argv)
    code, writer = convert_and_report(
        lambda progress: labelme_to_coco(args.label_dir, args.img_dir, data_root=args.data_root,
                                         classes=args.classes, class_map=args.class_map,
                                         unlabelled=args.unlabelled, progress=progress),
        args.out, args.fail_on_skip, desc='json')
    if writer is not None and args.mask_dir and writer.images:
        count = write_polygon_masks(writer.to_dict(), args.mask_dir)
        print(f'wrote {count} masks under {args.mask_dir}')
    return code


if __name__ == '__main__':
    sys.exit(main())
