"""Pascal VOC XML folders -> one COCO json (NEU-DET: two ann/img folder pairs in one run).

    python tools/dataset_converters/voc_to_coco.py \
        --ann-dir D/ANNOTATIONS --img-dir D/IMAGES \
        --ann-dir D/Validation_Annotations --img-dir D/Validation_Images --out ann.json

Exit codes: 0 written, 1 nothing converted, 2 bad arguments or input folders, 3 written with
skips under --fail-on-skip. Skipped inputs are listed in ``<out stem>.skipped.json``.
"""
import argparse
import sys

from agssp.datasets.converters.report import convert_and_report
from agssp.datasets.converters.voc import voc_to_coco


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--ann-dir', action='extend', nargs='+', required=True,
                   help='VOC XML folder(s); paired in order with --img-dir')
    p.add_argument('--img-dir', action='extend', nargs='+', required=True,
                   help='image folder(s), one per --ann-dir')
    p.add_argument('--out', required=True, help='output COCO json')
    p.add_argument('--classes', nargs='+', help='class names in id order (default: all found, '
                                                'sorted)')
    p.add_argument('--data-root', help='folder file_name is relative to (default: common '
                                       'parent of the image folders)')
    p.add_argument('--fail-on-skip', action='store_true', help='exit 3 when inputs were skipped')
    args = p.parse_args(argv)
    if len(args.ann_dir) != len(args.img_dir):
        p.error(f'{len(args.ann_dir)} --ann-dir but {len(args.img_dir)} --img-dir; give pairs')
    return args


def main(argv=None):
    args = parse_args(argv)
    code, _ = convert_and_report(
        lambda progress: voc_to_coco(list(zip(args.ann_dir, args.img_dir)),
                                     data_root=args.data_root, classes=args.classes,
                                     progress=progress),
        args.out, args.fail_on_skip, desc='xml')
    return code


if __name__ == '__main__':
    sys.exit(main())
