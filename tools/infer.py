"""Run a fine-tuned detector on an image, a folder or a glob: COCO-style predictions JSON and
drawn images (see agssp/inference.py).

    python tools/infer.py CONFIG CHECKPOINT INPUT [--out-dir D] [--score-thr T] [--device cpu]
"""
import argparse

from agssp.inference import run_inference


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='the detector config the checkpoint was trained with')
    parser.add_argument('checkpoint', help='the checkpoint (.pth)')
    parser.add_argument('input', help='an image file, a folder (searched recursively) or a '
                        'quoted glob pattern such as "data/*.jpg"')
    parser.add_argument('--out-dir', default='work_dirs/infer',
                        help='writes predictions.json and drawn/ here (default: %(default)s)')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='keep detections scored at least this (default: %(default)s)')
    parser.add_argument('--device', default='cpu', help='cpu or cuda:N (default: %(default)s)')
    args = parser.parse_args()
    try:
        summary = run_inference(args.config, args.checkpoint, args.input, args.out_dir,
                                args.score_thr, args.device)
    except (FileNotFoundError, ValueError) as err:
        raise SystemExit(f'error: {err}') from err
    print(f"\n{summary['images']} images, {summary['boxes']} detections "
          f"(score >= {args.score_thr}) on {summary['images_with_boxes']} of them, "
          f"{summary['skipped']} skipped {summary['skipped_by_reason'] or ''}\n"
          f"predictions: {summary['predictions']}\ndrawn images: {summary['drawn']}/")


if __name__ == '__main__':
    main()
