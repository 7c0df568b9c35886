"""Mean cosine between backbone activation maps and anomaly maps on held-out images, before and
after AGBP training, with PNG figures (activations next to maps; the training loss curve).

Example (after the short run, docs/agbp.md):
    python tools/agbp_alignment_report.py \
        configs/pretrain_agbp/agbp_cspdarknet-yolov8s_cpu-short_mt-neu.py \
        --after work_dirs/agbp_short/run/iter_600.pth --img-size 128 \
        --train-log work_dirs/agbp_short/run/<timestamp>/vis_data/scalars.json \
        --out-dir docs/figures --name agbp_short_run --json work_dirs/agbp_short/alignment.json
"before" is the config's model freshly initialised with --seed (the training run's seed).
Exit 2: missing config or checkpoint.
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import torch

import agssp.datasets  # noqa: F401  (registration)
import agssp.models  # noqa: F401  (registration)
from agssp.core.fileio import atomic_write_json
from agssp.core.training_logs import read_scalars_file
from agssp.engine import load_config
from agssp.evaluation.map_alignment import (build_model_for_alignment, collate_fn_of,
                                            heldout_dataset_cfg, measure_alignment)
from agssp.visualization.alignment import save_activation_figure, save_loss_curve


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config')
    p.add_argument('--after', required=True, help='checkpoint after training')
    p.add_argument('--before', default=None,
                   help='checkpoint before training (default: fresh initialisation)')
    p.add_argument('--seed', type=int, default=0, help='seed of the fresh initialisation')
    p.add_argument('--img-size', type=int, required=True, help='square input size')
    p.add_argument('--split', default='heldout', choices=('heldout', 'train', 'all'))
    p.add_argument('--batch-size', type=int, default=16)
    p.add_argument('--figure-images', type=int, default=6)
    p.add_argument('--train-log', help="the run's vis_data/scalars.json (loss-curve figure)")
    p.add_argument('--out-dir', default='docs/figures', help='folder for the PNG figures')
    p.add_argument('--name', default='agbp_alignment', help='figure file name prefix')
    p.add_argument('--json', help='write the measured cosines here')
    p.add_argument('--threads', type=int, default=1, help='torch CPU threads')
    args = p.parse_args(argv)
    for path in (args.after, args.before, args.train_log):
        if path and not Path(path).is_file():
            print(f'error: file not found: {path}', file=sys.stderr)
            return 2
    torch.set_num_threads(args.threads)
    cfg = load_config(args.config)
    dataset_cfg = heldout_dataset_cfg(cfg, args.img_size, args.split)
    collate = collate_fn_of(cfg)
    results = {}
    for label, ckpt in (('before', args.before), ('after', args.after)):
        model = build_model_for_alignment(cfg, ckpt, args.seed)
        results[label] = measure_alignment(model, dataset_cfg, collate, args.batch_size,
                                           args.figure_images, progress=True)
    stages = results['after']['stages']
    summary = dict(config=args.config, before=args.before or f'fresh init (seed {args.seed})',
                   after=args.after, split=args.split, img_size=args.img_size,
                   num_images=int(results['after']['cosines'].shape[0]))
    for label in ('before', 'after'):
        means = results[label]['cosines'].mean(axis=0)
        summary[f'mean_cosine_{label}'] = {f'out{s}': round(float(m), 4)
                                           for s, m in zip(stages, means)}
        summary[f'mean_cosine_{label}']['all_stages'] = round(float(np.mean(means)), 4)
    print(f"{summary['num_images']} {args.split} images, mean cosine(activation, anomaly map):")
    for key in summary['mean_cosine_before']:
        print(f"  {key}: before {summary['mean_cosine_before'][key]:.4f}  "
              f"after {summary['mean_cosine_after'][key]:.4f}")
    out_dir = Path(args.out_dir)
    figure = out_dir / f'{args.name}_activations.png'
    save_activation_figure(figure, results['before']['examples'],
                           results['after']['examples'], stages)
    print(f'figure: {figure}')
    if args.train_log:
        curve = out_dir / f'{args.name}_loss.png'
        save_loss_curve(curve, read_scalars_file(args.train_log))
        print(f'figure: {curve}')
    if args.json:
        atomic_write_json(args.json, summary, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
