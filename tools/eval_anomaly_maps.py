"""Score a folder of anomaly maps against pixel masks: image AUROC, pixel AUROC, pixel AP, AUPRO.

Example (Magnetic Tile: masks are x.png beside x.jpg, MT_Free holds the defect-free images):
    python tools/eval_anomaly_maps.py --maps work_dirs/maps --img-dir ../shared/data/magnetic-tile \
        --masks magnetic-tile --out-dir work_dirs/maps_eval

Prints a table (per class, mean over classes, overall), writes <out-dir>/metrics.json and
<out-dir>/overlays/<image>.png (image | mask | map) for a few images per class. Exit status 1
when some images could not be evaluated (listed in metrics.json) unless --allow-missing.
"""
import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--maps', required=True, help='folder of maps (mirrors --img-dir)')
    parser.add_argument('--img-dir', required=True, help='folder of images')
    parser.add_argument('--masks', required=True,
                        help="mask folder (mirrors --img-dir), or 'magnetic-tile' for x.png "
                             'beside x.jpg; images without a mask file are defect-free')
    parser.add_argument('--out-dir', required=True, help='where metrics.json and overlays go')
    parser.add_argument('--mask-suffix', default='.png', help='mask file = image stem + this')
    parser.add_argument('--suffixes', nargs='+', default=None,
                        help='image suffixes (default: .jpg for magnetic-tile, else all)')
    parser.add_argument('--normal-class', default=None,
                        help='class folder of defect-free images, added to every other class '
                             '(default: MT_Free for magnetic-tile)')
    parser.add_argument('--image-score', choices=('max', 'manifest'), default='max',
                        help="image score: the map's maximum, or the method's own score from "
                             '<maps>/manifest.json')
    parser.add_argument('--max-fpr', type=float, default=0.3, help='AUPRO integration limit')
    parser.add_argument('--max-pixels', type=int, default=None,
                        help='pixels kept per image / region for pixel metrics (0: all; '
                             'default: 16384, weighted random subsample)')
    parser.add_argument('--overlays-per-class', type=int, default=3)
    parser.add_argument('--allow-missing', action='store_true',
                        help='exit 0 even when some images have no usable map')
    parser.add_argument('--no-progress', action='store_true')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(message)s')
    from agssp.core.fileio import atomic_write_json
    from agssp.evaluation.anomaly_map_eval import (MAGNETIC_TILE, evaluate_map_folder,
                                                   load_manifest_scores)
    from agssp.evaluation.anomaly_metrics import DEFAULT_MAX_PIXELS, format_table, to_jsonable
    from agssp.visualization.map_overlays import save_overlays

    preset = args.masks == MAGNETIC_TILE['masks']
    mask_root = args.img_dir if preset else args.masks
    suffixes = args.suffixes or (MAGNETIC_TILE['suffixes'] if preset else None)
    normal_class = args.normal_class or (MAGNETIC_TILE['normal_class'] if preset else None)
    max_pixels = DEFAULT_MAX_PIXELS if args.max_pixels is None else (args.max_pixels or None)
    scores = load_manifest_scores(args.maps) if args.image_score == 'manifest' else None
    evaluation = evaluate_map_folder(
        args.maps, args.img_dir, mask_root, mask_suffix=args.mask_suffix, suffixes=suffixes,
        normal_class=normal_class, scores=scores, max_fpr=args.max_fpr, max_pixels=max_pixels,
        samples_per_class=args.overlays_per_class, progress=not args.no_progress)
    out_dir = Path(args.out_dir)
    report = dict(to_jsonable(evaluation.results), maps=str(args.maps), img_dir=str(args.img_dir),
                  masks=str(args.masks), not_evaluated=evaluation.problems)
    atomic_write_json(out_dir / 'metrics.json', report, indent=1)
    overlays = save_overlays(evaluation, args.maps, args.img_dir, mask_root,
                             out_dir / 'overlays', mask_suffix=args.mask_suffix)
    print(format_table(evaluation.results))
    print(f'{evaluation.without_mask} images without a mask file (defect-free); '
          f'{len(overlays)} overlays in {out_dir / "overlays"}; metrics in '
          f'{out_dir / "metrics.json"}')
    if evaluation.problems:
        print(f'{len(evaluation.problems)} images not evaluated (listed in metrics.json), e.g. '
              f'{evaluation.problems[0]["reason"]}')
        return 0 if args.allow_missing else 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
