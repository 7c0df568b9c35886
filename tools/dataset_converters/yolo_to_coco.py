"""YOLO txt labels (class cx cy w h, normalised) -> COCO json.

    python tools/dataset_converters/yolo_to_coco.py --img-dir D/images --label-dir D/labels \
        --classes names.txt --out ann.json

Images without a label file are kept without boxes. Exit codes: 0 written, 1 nothing converted,
2 bad arguments or input folders, 3 written with skips under --fail-on-skip.
"""
import argparse
import sys

from agssp.datasets.converters.report import convert_and_report
from agssp.datasets.converters.yolo import read_class_names, yolo_to_coco


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--img-dir', required=True, help='image folder (file_name is relative to it)')
    p.add_argument('--label-dir', required=True, help='label folder mirroring --img-dir')
    p.add_argument('--classes', required=True, help='text file, one class name per line')
    p.add_argument('--out', required=True, help='output COCO json')
    p.add_argument('--fail-on-skip', action='store_true', help='exit 3 when inputs were skipped')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    code, _ = convert_and_report(
        lambda progress: yolo_to_coco(args.img_dir, args.label_dir,
                                      read_class_names(args.classes), progress=progress),
        args.out, args.fail_on_skip, desc='labels')
    return code


if __name__ == '__main__':
    sys.exit(main())
