"""Collect fine-tuning results into the paper-style table: backbone, detector, pretraining,
dataset, mAP@0.5, mAP@0.5:0.95 (the best validation by mAP@0.5 of each run).

Example:
    python tools/collect_results.py work_dirs/yolov8_s_* work_dirs/dino-* --out results.md

Each argument is a work dir or a folder of work dirs (searched for mmengine's
<timestamp>/vis_data/scalars.json). Writes OUT (Markdown, mAP in %), OUT with .csv (fractions,
per-class AP columns) and OUT with .png (bars). Runs without a COCO validation yet are listed
as skipped. Exit codes: 0 written, 1 no result found, 2 bad arguments.
"""
import argparse
import sys
from pathlib import Path

from agssp.core.fileio import atomic_write_bytes
from agssp.evaluation.results_table import collect_results, draw_results_png, to_csv, to_markdown


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('work_dirs', nargs='+', help='work dirs, or folders holding them')
    p.add_argument('--out', default='results.md', help='Markdown table to write (default: '
                   'results.md; the CSV and PNG go beside it)')
    args = p.parse_args(argv)
    out = Path(args.out)
    try:
        rows, skipped = collect_results(args.work_dirs)
    except FileNotFoundError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    for work_dir, reason in skipped:
        print(f'skipped {work_dir}: {reason}', file=sys.stderr)
    if not rows:
        print(f'error: no fine-tuning result found under {" ".join(args.work_dirs)}',
              file=sys.stderr)
        return 1
    markdown = to_markdown(rows)
    atomic_write_bytes(out, markdown.encode('utf-8'))
    atomic_write_bytes(out.with_suffix('.csv'), to_csv(rows).encode('utf-8'))
    draw_results_png(rows, out.with_suffix('.png'))
    print(markdown)
    print(f'{len(rows)} runs, {len(skipped)} skipped: {out}, {out.with_suffix(".csv")}, '
          f'{out.with_suffix(".png")}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
