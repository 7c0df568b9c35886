"""Recall and precision of pseudo boxes against ground-truth boxes (COCO jsons), by object size.

Example:
    python tools/eval_pseudo_boxes.py --gt work_dirs/gt/mt.json --pred work_dirs/pseudo/mt.json

Writes ``<pred stem>.quality.json`` and a bar chart ``<pred stem>.quality.png`` beside the
pseudo boxes (or where --out says). ``--by-source`` adds the overall row of each source dataset
(first-level folder of ``file_name``), also under ``by_source`` in the json. Exit code 1 when
no image of the ground truth is found in the pseudo boxes (the file names do not pair up: try
--match name).
"""
import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

from agssp.core.fileio import atomic_write_json  # noqa: E402
from agssp.evaluation.box_quality import SIZE_BUCKETS, pseudo_box_quality  # noqa: E402
from agssp.pseudo_boxes.export import coco_by_source  # noqa: E402


def _fmt(value):
    return '   -  ' if value is None else f'{value:6.3f}'


def format_table(result) -> str:
    rows = [('overall', result['overall'])]
    rows += [(name, result['by_size'][name]) for name, _, _ in SIZE_BUCKETS]
    lines = [f"IoU >= {result['iou_threshold']}   images: {result['images']}",
             f"{'':8s} {'recall':>6s} {'precis':>6s} {'gt':>6s} {'pred':>6s}"]
    for name, r in rows:
        lines.append(f"{name:8s} {_fmt(r['recall'])} {_fmt(r['precision'])} "
                     f"{r['gt']:6d} {r['pred']:6d}")
    lines.append(f"image level: {result['image_level']}")
    return '\n'.join(lines)


def plot_quality(result, png_path):
    names = ['overall'] + [name for name, _, _ in SIZE_BUCKETS]
    rows = [result['overall']] + [result['by_size'][n] for n in names[1:]]
    x = range(len(names))
    fig, ax = plt.subplots(figsize=(7, 4))
    for offset, key in ((-0.2, 'recall'), (0.2, 'precision')):
        ax.bar([i + offset for i in x], [r[key] or 0.0 for r in rows], width=0.4, label=key)
    ax.set_xticks(list(x), [f"{n}\ngt {r['gt']}\npred {r['pred']}" for n, r in zip(names, rows)],
                  fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_title(f"pseudo boxes at IoU >= {result['iou_threshold']}")
    ax.legend()
    fig.tight_layout()
    Path(png_path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png_path)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--gt', required=True, help='ground-truth COCO json')
    p.add_argument('--pred', required=True, help='pseudo boxes COCO json')
    p.add_argument('--iou', type=float, default=0.5)
    p.add_argument('--match', choices=['path', 'name'], default='path',
                   help='pair images by file_name, or by its last component')
    p.add_argument('--by-source', action='store_true',
                   help='also each source dataset (first-level folder of file_name) on its own')
    p.add_argument('--out', help='result json (default: <pred stem>.quality.json)')
    args = p.parse_args(argv)
    gt = json.loads(Path(args.gt).read_text())
    pred_file = Path(args.pred)
    pred = json.loads(pred_file.read_text())
    result = pseudo_box_quality(gt, pred, args.iou, args.match)
    result.update(gt_file=str(args.gt), pred_file=str(pred_file))
    if args.by_source:
        preds = coco_by_source(pred)
        result['by_source'] = {
            source: pseudo_box_quality(truth, preds.get(source, dict(pred, images=[],
                                                                    annotations=[])),
                                       args.iou, args.match)['overall']
            for source, truth in coco_by_source(gt).items()}
    out = Path(args.out) if args.out else pred_file.with_name(pred_file.stem + '.quality.json')
    atomic_write_json(out, result, indent=1)
    plot_quality(result, out.with_suffix('.png'))
    print(format_table(result))
    for source, r in result.get('by_source', {}).items():
        print(f"source {source}: recall {_fmt(r['recall'])} precision {_fmt(r['precision'])} "
              f"gt {r['gt']} pred {r['pred']}")
    print(f'written {out} and {out.with_suffix(".png")}')
    images = result['images']
    return 1 if images['missing_in_pred'] == images['evaluated'] else 0


if __name__ == '__main__':
    sys.exit(main())
