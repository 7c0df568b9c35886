"""The paper-style results table from fine-tuning work dirs (mmengine's own logs and configs).

A run is a work dir holding ``<timestamp>/vis_data/scalars.json`` (mmengine's LocalVisBackend)
and the config it ran (``<timestamp>/vis_data/config.py``). Its result is the validation with
the best ``coco/bbox_mAP_50`` (the metric the configs keep their best checkpoint by), with the
mAP@0.5:0.95 and per-class AP@0.5:0.95 of that same validation.
"""
import csv
import io
import math
from pathlib import Path

from mmengine.config import Config

from agssp.core.training_logs import TrainingLogError, read_scalars, scalars_files
from agssp.evaluation.detection_metrics import PER_CLASS_AP

MAP50 = 'coco/bbox_mAP_50'
MAP = 'coco/bbox_mAP'
CLASS_PREFIX, CLASS_SUFFIX = 'coco/', '_precision'
COLUMNS = ('backbone', 'detector', 'pretraining', 'dataset', 'mAP@0.5', 'mAP@0.5:0.95',
           'best epoch', 'work dir')
PRETRAINING_ORDER = ('scratch', 'baseline', 'AGBP', 'AGSSP')


class RunSkipped(Exception):
    """A work dir that gives no result; the message says why."""


def find_runs(paths):
    """Work dirs under ``paths`` (each a work dir or a folder of them), sorted, unique."""
    runs = set()
    for path in map(Path, paths):
        if not path.exists():
            raise FileNotFoundError(f'work dir not found: {path}')
        runs.update(s.parents[2] for s in path.rglob('vis_data/scalars.json'))
    return sorted(runs)


def read_validations(work_dir):
    """Every validation record (a dict with ``coco/bbox_mAP_50`` and ``step`` = epoch) of a run,
    in order, over all its timestamp folders (a resumed run has several)."""
    try:
        return [record for record in read_scalars(work_dir) if MAP50 in record]
    except TrainingLogError as exc:
        raise RunSkipped(str(exc)) from exc


def best_validation(records):
    """The record with the highest mAP@0.5 (the earliest among equals)."""
    usable = [r for r in records if isinstance(r[MAP50], (int, float)) and
              not math.isnan(r[MAP50])]
    if not usable:
        raise RunSkipped('no COCO validation result yet (no coco/bbox_mAP_50 in scalars.json)')
    return max(usable, key=lambda r: (r[MAP50], -r.get('step', 0)))


def load_run_config(work_dir):
    """The config of the run's latest timestamp folder (as mmengine dumped it)."""
    for scalars in reversed(scalars_files(work_dir)):
        path = scalars.with_name('config.py')
        if path.is_file():
            return Config.fromfile(str(path), import_custom_modules=False)
    raise RunSkipped(f'no dumped config (<timestamp>/vis_data/config.py) in {work_dir}')


def _checkpoint_name(path):
    return Path(str(path)).name


def describe_run(cfg) -> dict:
    """Backbone, detector, pretraining and dataset of a run, from its config.

    agssp configs say it in ``run_info`` and ``finetune_data``; for others the model types,
    ``load_from`` / the backbone checkpoint and the validation data root stand in. A baseline that
    starts from a backbone checkpoint is named after it; without one it is ``scratch``.
    """
    model = cfg.get('model', {})
    info = dict(cfg.get('run_info', {}))
    init_cfg = (model.get('backbone') or {}).get('init_cfg') or {}
    checkpoint = init_cfg.get('checkpoint') if isinstance(init_cfg, dict) else None
    pretraining = info.get('pretraining')
    if pretraining in (None, 'baseline'):
        if cfg.get('load_from'):
            pretraining = f'{pretraining or "detector"}: {_checkpoint_name(cfg.load_from)}'
        elif checkpoint:
            pretraining = f'{pretraining or "backbone"}: {_checkpoint_name(checkpoint)}'
        else:
            pretraining = 'scratch'
    dataset = (cfg.get('finetune_data') or {}).get('name')
    if dataset is None:
        val_data = ((cfg.get('val_dataloader') or {}).get('dataset') or {})
        ann_file = (cfg.get('val_evaluator') or {}).get('ann_file') or ''
        dataset = (Path(val_data.get('data_root') or '').name or Path(ann_file).parent.name
                   or 'unknown')
    return dict(backbone=info.get('backbone', (model.get('backbone') or {}).get('type', '?')),
                detector=info.get('detector', model.get('type', '?')),
                pretraining=pretraining, dataset=dataset)


def collect_run(work_dir) -> dict:
    """One table row: the run's description, best mAP@0.5, its mAP@0.5:0.95 and per-class AP."""
    best = best_validation(read_validations(work_dir))
    row = describe_run(load_run_config(work_dir))
    per_class = {k[len(CLASS_PREFIX):-len(CLASS_SUFFIX)]: v for k, v in best.items()
                 if k.startswith(CLASS_PREFIX) and k.endswith(CLASS_SUFFIX)}
    row.update({'mAP@0.5': best[MAP50], 'mAP@0.5:0.95': best.get(MAP, float('nan')),
                'best epoch': best.get('step'), 'work dir': str(work_dir),
                'per_class': per_class})
    return row


def collect_results(paths):
    """``(rows, skipped)`` for every run under ``paths``; ``skipped`` is ``[(dir, reason)]``."""
    rows, skipped = [], []
    for work_dir in find_runs(paths):
        try:
            rows.append(collect_run(work_dir))
        except RunSkipped as exc:
            skipped.append((str(work_dir), str(exc)))
    return sort_rows(rows), skipped


def _pretraining_rank(name):
    for i, prefix in enumerate(PRETRAINING_ORDER):
        if name.startswith(prefix):
            return i
    return len(PRETRAINING_ORDER)


def sort_rows(rows):
    """By dataset, detector, backbone, then scratch / baseline / AGBP / AGSSP."""
    return sorted(rows, key=lambda r: (r['dataset'], r['detector'], r['backbone'],
                                       _pretraining_rank(r['pretraining']), r['work dir']))


def _percent(value):
    if not isinstance(value, (int, float)) or math.isnan(value) or value < 0:
        return '-'
    return f'{100 * value:.1f}'


def to_markdown(rows) -> str:
    """The main table (mAP in %) and, per run, its per-class AP@0.5:0.95 (in %)."""
    lines = ['| ' + ' | '.join(COLUMNS) + ' |', '|' + '---|' * len(COLUMNS)]
    for r in rows:
        cells = [r['backbone'], r['detector'], r['pretraining'], r['dataset'],
                 _percent(r['mAP@0.5']), _percent(r['mAP@0.5:0.95']), str(r['best epoch']),
                 f"`{r['work dir']}`"]
        lines.append('| ' + ' | '.join(cells) + ' |')
    classed = [r for r in rows if r['per_class']]
    if classed:
        lines += ['', f'Per-class AP@0.5:0.95 (%) at the best epoch ({PER_CLASS_AP}; from '
                  "mmdet's classwise log):", '']
        for r in classed:
            names = list(r['per_class'])
            lines += [f"`{r['work dir']}`", '',
                      '| ' + ' | '.join(names) + ' |', '|' + '---|' * len(names),
                      '| ' + ' | '.join(_percent(r['per_class'][n]) for n in names) + ' |', '']
    return '\n'.join(lines).rstrip() + '\n'


def to_csv(rows) -> str:
    """The main columns (mAP as fractions, as mmdet logs them) and one ``AP <class>`` column per
    class seen in any run."""
    classes = sorted({c for r in rows for c in r['per_class']})
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator='\n')
    writer.writerow([*COLUMNS, *(f'AP {c}' for c in classes)])
    for r in rows:
        writer.writerow([r[c] for c in COLUMNS] + [r['per_class'].get(c, '') for c in classes])
    return buffer.getvalue()


def draw_results_png(rows, path):
    """Horizontal bars of mAP@0.5 and mAP@0.5:0.95 (%) per run, written atomically as PNG."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from agssp.core.fileio import atomic_write_bytes

    labels = [f"{r['dataset']} | {r['detector']} {r['backbone']} | {r['pretraining']}"
              for r in rows]
    values = [[100 * r[key] if isinstance(r[key], (int, float)) and r[key] >= 0 else 0
               for r in rows] for key in ('mAP@0.5', 'mAP@0.5:0.95')]
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.45 * len(rows)))
    ys = range(len(rows))
    ax.barh([y - 0.2 for y in ys], values[0], height=0.4, label='mAP@0.5')
    ax.barh([y + 0.2 for y in ys], values[1], height=0.4, label='mAP@0.5:0.95')
    ax.set_yticks(list(ys), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel('%')
    ax.legend(loc='lower right')
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format='png', dpi=100)
    plt.close(fig)
    return atomic_write_bytes(path, buffer.getvalue())
