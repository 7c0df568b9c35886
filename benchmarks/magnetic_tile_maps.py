"""Magnetic Tile figures of a trainable anomaly-map method, end to end, with the project tools.

    python benchmarks/magnetic_tile_maps.py                     # clean protocol
    python benchmarks/magnetic_tile_maps.py --contaminated      # half of each defect class in
                                                                # the training pool

Steps (each printed as the command it runs):
    1. the split of :func:`agssp.evaluation.magnetic_tile_protocol.magnetic_tile_protocol`
       (seeded 70% of MT_Free trains; the rest and the defect classes test), written as
       <work-dir>/split/train.txt and a <work-dir>/split/test/ folder of links;
    2. tools/train_anomaly_model.py on the training list (wall time recorded);
    3. tools/generate_anomaly_maps.py on the test folder;
    4. tools/eval_anomaly_maps.py: image AUROC (the method's own image score), pixel AUROC,
       pixel AP, AUPRO up to FPR 0.3, per class (each class with the held-out MT_Free images),
       their mean, and the pooled figures over all test images.
Writes <work-dir>/results.md (a markdown table) and <work-dir>/results.json. Exit status 1 when a
step fails or the data is absent.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from agssp.core.fileio import atomic_write_bytes, atomic_write_json  # noqa: E402
from agssp.evaluation.magnetic_tile_protocol import magnetic_tile_protocol  # noqa: E402
from agssp.evaluation.magnetic_tile_protocol import write_split_folders

DATA = REPO.parent / 'shared' / 'data' / 'magnetic-tile'
METRICS = ('image_auroc', 'pixel_auroc', 'pixel_ap', 'aupro')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default='configs/anomaly/synthseg_magnetic_tile.py')
    parser.add_argument('--data', default=str(DATA), help='Magnetic Tile root')
    parser.add_argument('--work-dir', default=None,
                        help='default: work_dirs/mt_benchmark_<config>[_contaminated]')
    parser.add_argument('--contaminated', action='store_true',
                        help='train on MT_Free 70%% plus half of each defect class')
    parser.add_argument('--seed', type=int, default=0, help='split seed')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='passed to the training and generation tools')
    parser.add_argument('--threads', type=int, default=1,
                        help='OMP_NUM_THREADS of the tools (default 1: on a small machine '
                             'shared with other jobs, more OpenMP threads spin-wait and slow '
                             'down several-fold; training uses train.num_threads anyway)')
    return parser.parse_args(argv)


def run(cmd, log, threads: int) -> float:
    """Run a tool, echoing its command; returns its wall time; raises on failure."""
    print(f'$ OMP_NUM_THREADS={threads} ' + ' '.join(str(c) for c in cmd), flush=True)
    began = time.perf_counter()
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    subprocess.run([str(c) for c in cmd], check=True, cwd=REPO, env=env)
    seconds = time.perf_counter() - began
    log.append(dict(command=' '.join(str(c) for c in cmd), seconds=round(seconds, 1)))
    return seconds


def markdown_table(metrics: dict, title: str) -> str:
    """Per-class rows, the mean over classes and the pooled (overall) row."""
    def cell(v):
        return 'n/a' if v is None else f'{v:.3f}'

    lines = [f'**{title}**', '',
             '| class | image AUROC | pixel AUROC | pixel AP | AUPRO@0.3 | test images |',
             '|---|---|---|---|---|---|']
    for cls, m in metrics['per_class'].items():
        lines.append(f'| {cls} | ' + ' | '.join(cell(m[k]) for k in METRICS)
                     + f' | {m["images"]} |')
    mean = metrics['mean_over_classes']
    lines.append('| **mean over classes** | ' + ' | '.join(cell(mean[k]) for k in METRICS)
                 + ' | |')
    overall = metrics['overall']
    lines.append('| pooled (all test images) | ' + ' | '.join(cell(overall[k]) for k in METRICS)
                 + f' | {overall["images"]} |')
    return '\n'.join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    data = Path(args.data)
    if not data.is_dir():
        print(f'error: Magnetic Tile not found at {data}', file=sys.stderr)
        return 1
    name = Path(args.config).stem + ('_contaminated' if args.contaminated else '')
    work = Path(args.work_dir or REPO / 'work_dirs' / f'mt_benchmark_{name}').resolve()
    split = magnetic_tile_protocol(data, seed=args.seed, contaminated=args.contaminated)
    files = write_split_folders(split, work / 'split')
    print(f'split: {len(split.train)} training images, {len(split.test)} test images '
          f'(contaminated={args.contaminated}, seed={args.seed})')
    py, options = sys.executable, (['--cfg-options', *args.cfg_options] if args.cfg_options
                                   else [])
    log = []
    try:
        run([py, 'tools/train_anomaly_model.py', args.config, '--img-dir', data,
                       '--list', files['train_list'], '--work-dir', work / 'train',
                       '--no-progress', *options], log, args.threads)
        gen_options = ['--cfg-options', f'checkpoint={work / "train" / "synthseg.pth"}',
                       *args.cfg_options]
        run([py, 'tools/generate_anomaly_maps.py', args.config, '--img-dir', files['test_dir'],
             '--out-dir', work / 'maps', '--suffixes', '.jpg', '--device', 'cpu',
             '--no-progress', *gen_options], log, args.threads)
        run([py, 'tools/eval_anomaly_maps.py', '--maps', work / 'maps', '--img-dir',
             files['test_dir'], '--masks', 'magnetic-tile', '--out-dir', work / 'eval',
             '--image-score', 'manifest', '--no-progress'], log, args.threads)
    except subprocess.CalledProcessError as exc:
        print(f'error: step failed with exit status {exc.returncode}: {exc.cmd}',
              file=sys.stderr)
        return 1
    metrics = json.loads((work / 'eval' / 'metrics.json').read_text(encoding='utf-8'))
    train_log = json.loads((work / 'train' / 'train_log.json').read_text(encoding='utf-8'))
    title = (f'{Path(args.config).stem} on Magnetic Tile, '
             f'{"contaminated" if args.contaminated else "clean"} training pool '
             f'({len(split.train)} images), seed {args.seed}; training '
             f'{train_log["total_seconds"] / 60:.1f} min wall, {train_log["cpu_seconds"] / 60:.1f} '
             f'CPU-min, {train_log["threads"]} thread(s)')
    table = markdown_table(metrics, title)
    atomic_write_bytes(work / 'results.md', (table + '\n').encode('utf-8'))
    atomic_write_json(work / 'results.json', dict(
        config=args.config, contaminated=args.contaminated, seed=args.seed,
        train_images=len(split.train), test_images=len(split.test),
        train_seconds=train_log['train_seconds'], fit_seconds=train_log['fit_seconds'],
        cpu_seconds=train_log['cpu_seconds'], threads=train_log['threads'],
        steps=log, per_class=metrics['per_class'],
        mean_over_classes=metrics['mean_over_classes'], overall=metrics['overall']), indent=1)
    print(table)
    print(f'written: {work / "results.md"}, {work / "results.json"}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
