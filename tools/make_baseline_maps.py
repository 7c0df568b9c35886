"""Write stand-in anomaly maps (ground-truth masks or local contrast) to measure pseudo boxes.

These are not anomaly-detection methods: ``mask`` is a sanity check, ``local_contrast`` a crude
image-derived baseline. Example:
    python tools/make_baseline_maps.py --img-dir ../shared/data/magnetic-tile \
        --out work_dirs/maps/mt_masks --kind mask --exclude-suffix .png
Exit code 1 when some map could not be written.
"""
import argparse
import logging
import sys

from agssp.anomaly.baseline_maps import BASELINE_KINDS, write_baseline_maps
from agssp.pseudo_boxes.export import list_image_relpaths


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--img-dir', required=True)
    p.add_argument('--out', required=True, help='map folder to write (paths mirror the images)')
    p.add_argument('--kind', required=True, choices=BASELINE_KINDS)
    p.add_argument('--exclude-suffix', action='append', default=[],
                   help='image suffix to ignore (repeatable), e.g. .png for mask files')
    p.add_argument('--mask-suffix', default='.png',
                   help='mask: suffix of the mask file beside the image')
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(message)s')
    relpaths = list_image_relpaths(args.img_dir, args.exclude_suffix)
    failed = write_baseline_maps(args.img_dir, args.out, relpaths, args.kind,
                                 mask_suffix=args.mask_suffix, progress=True)
    print(f'{len(relpaths) - len(failed)} maps written to {args.out}, {len(failed)} failed')
    for item in failed:
        print(f"failed {item['file']}: {item['reason']}")
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
