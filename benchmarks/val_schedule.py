"""Validation schedules for fine-tuning, judged on finished runs: would fewer validations pick
as good a checkpoint?

    python benchmarks/val_schedule.py work_dirs/pipeline_neu_det/09_finetune
    python benchmarks/val_schedule.py STAGE_DIR --schedules 10,1 10,5 5,5 10,10

Each finished run folder under the stage folder (``config.py``, mmengine's ``scalars.json`` and
the pipeline's ``result.json``) gives its validation mAP@0.5 by epoch and its own times, as
logged: training iterations and validation batches. A schedule ``interval,tail`` validates every ``interval`` epochs and every ``tail``
epochs from the run's own dynamic-interval milestone (mmyolo: the last Mosaic-free epochs), by
mmengine's rule (:func:`agssp.engine.detector_adapter.validation_epochs`). Only schedules whose
epochs the run validated can be judged. For each one, the epoch that ``save_best`` would keep is
the first best one (``rule='greater'``). Compared with the schedule the run used, the table
gives: validations, the runs whose pick changes, the change of the picked checkpoint's
validation mAP@0.5 (mean +- sd over runs) and validation's share of the stage's time.

Validation data only: the test split plays no part in choosing a schedule.
"""
import argparse
import json
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mmengine.config import Config  # noqa: E402

from agssp.core.training_logs import read_scalars  # noqa: E402
from agssp.engine.detector_adapter import validation_epochs  # noqa: E402

METRIC = 'coco/bbox_mAP_50'


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('stage_dir', help='a fine-tuning stage folder (one sub-folder per run)')
    p.add_argument('--schedules', nargs='+', default=['10,1', '10,5', '10,10', '5,5', '50,50'],
                   help='interval,tail pairs (default: %(default)s)')
    p.add_argument('--metric', default=METRIC)
    return p.parse_args(argv)


def parse_schedule(text):
    try:
        interval, tail = (int(v) for v in text.split(','))
    except ValueError:
        raise SystemExit(f'schedule {text!r}: expected two integers, e.g. 10,5') from None
    if interval < 1 or tail < 1:
        raise SystemExit(f'schedule {text!r}: intervals must be >= 1')
    return interval, tail


def read_run(run_dir: Path, metric=METRIC) -> dict:
    """One finished run: its train_cfg, validation scores by epoch and logged times."""
    cfg = Config.fromfile(str(run_dir / 'config.py'))
    records = read_scalars(run_dir)
    scores, val_batch_s, iter_s = {}, [], []
    for rec in records:
        if metric in rec:
            scores[int(rec['step'])] = float(rec[metric])
            val_batch_s.append(float(rec['time']))
        elif 'loss' in rec and 'time' in rec:
            iter_s.append(float(rec['time']))
    if not scores:
        raise SystemExit(f'{run_dir}: no {metric} record in its scalars.json')
    train_cfg = dict(cfg.train_cfg)
    if sorted(scores) != validation_epochs(train_cfg):
        raise SystemExit(f'{run_dir}: validated epochs {sorted(scores)} are not its config\'s '
                         f'{validation_epochs(train_cfg)} (an unfinished or edited run?)')
    return dict(name=run_dir.name, train_cfg=train_cfg, scores=scores,
                val_batch_s=statistics.mean(val_batch_s), iter_s=statistics.mean(iter_s),
                val_batches=_val_batches(cfg), train_iters=_train_iters(records))


def _train_iters(records) -> int:
    """Training iterations per epoch, from the logged ``iter`` and ``epoch`` of the records."""
    ends = {}
    for rec in records:
        if 'epoch' in rec and 'iter' in rec and 'loss' in rec:
            ends[rec['epoch']] = max(ends.get(rec['epoch'], 0), rec['iter'])
    epochs = sorted(ends)
    if len(epochs) < 2:
        raise SystemExit('fewer than two epochs logged: no iterations per epoch')
    return (ends[epochs[-1]] - ends[epochs[0]]) // (epochs[-1] - epochs[0])


def _val_batches(cfg) -> int:
    """Validation batches of one pass: the validation file's images over the batch size."""
    dataset = cfg.val_dataloader.dataset
    ann = Path(dataset.get('data_root') or '') / dataset.ann_file
    images = len(json.loads(ann.read_text())['images'])
    batch = cfg.val_dataloader.batch_size
    return -(-images // batch)


def schedule_epochs(train_cfg, interval, tail) -> list:
    """The epochs ``interval,tail`` validates, the tail starting at the run's own milestone."""
    dynamic = train_cfg.get('dynamic_intervals') or []
    milestone = dynamic[0][0] if dynamic else train_cfg['max_epochs'] + 1
    return validation_epochs(dict(train_cfg, val_interval=interval,
                                  dynamic_intervals=[(milestone, tail)]))


def best_epoch(scores, epochs) -> int:
    """What ``save_best`` with ``rule='greater'`` keeps: the first epoch of the best score."""
    best = None
    for epoch in epochs:
        if best is None or scores[epoch] > scores[best]:
            best = epoch
    return best


def judge(runs, schedules):
    """Table rows: per schedule, validations, changed picks, score change, validation share."""
    rows = []
    for interval, tail in schedules:
        deltas, changed, shares, counts, missing = [], 0, [], set(), []
        for run in runs:
            epochs = schedule_epochs(run['train_cfg'], interval, tail)
            if not set(epochs) <= set(run['scores']):
                missing.append(run['name'])
                continue
            used = best_epoch(run['scores'], sorted(run['scores']))
            pick = best_epoch(run['scores'], epochs)
            deltas.append(run['scores'][pick] - run['scores'][used])
            changed += pick != used
            train_s = run['train_cfg']['max_epochs'] * run['train_iters'] * run['iter_s']
            val_s = len(epochs) * run['val_batches'] * run['val_batch_s']
            shares.append(val_s / (train_s + val_s))
            counts.add(len(epochs))
        rows.append(dict(schedule=f'{interval},{tail}', validations=sorted(counts),
                         runs=len(deltas), changed=changed, deltas=deltas, shares=shares,
                         missing=missing))
    return rows


def _mean_sd(values, fmt='{:+.4f}'):
    if not values:
        return '-'
    sd = statistics.pstdev(values) if len(values) > 1 else 0.0
    return f'{fmt.format(statistics.mean(values))} +- {sd:.4f}'


def main(argv=None):
    args = parse_args(argv)
    stage = Path(args.stage_dir)
    run_dirs = sorted(p for p in stage.iterdir() if (p / 'config.py').is_file())
    finished = [p for p in run_dirs if (p / 'result.json').is_file()]
    if not finished:
        raise SystemExit(f'{stage}: no finished run (a sub-folder with config.py and the '
                         f'pipeline\'s result.json)')
    unfinished = [p.name for p in run_dirs if p not in finished]
    if unfinished:
        print(f'left out, not finished: {", ".join(unfinished)}')
    run_dirs = finished
    runs = [read_run(p, args.metric) for p in run_dirs]
    schedules = [parse_schedule(s) for s in args.schedules]
    print(f'{len(runs)} runs under {stage}; {args.metric} on the validation split; the runs '
          f'used val_interval {runs[0]["train_cfg"].get("val_interval")} and dynamic_intervals '
          f'{runs[0]["train_cfg"].get("dynamic_intervals")}')
    print('| schedule (interval,tail) | validations | runs | pick changed | picked score - '
          'as run (mean +- sd) | validation share |')
    print('|---|---|---|---|---|---|')
    for row in judge(runs, schedules):
        if not row['runs']:
            print(f"| {row['schedule']} | - | 0 | - | not judged: needs epochs the runs did not "
                  f"validate | - |")
            continue
        print(f"| {row['schedule']} | {'/'.join(map(str, row['validations']))} | {row['runs']} "
              f"| {row['changed']} | {_mean_sd(row['deltas'])} | "
              f"{_mean_sd(row['shares'], '{:.3f}')} |")
    print('per run, picked epoch as run: ' + ', '.join(
        f"{r['name']} {best_epoch(r['scores'], sorted(r['scores']))}" for r in runs))
    return 0


if __name__ == '__main__':
    sys.exit(main())
