"""The pipeline's report: ``report.md`` with its PNG figures and the results table."""
import json
import math
import shlex
import sys
from pathlib import Path
from statistics import mean, pstdev

import cv2
import numpy as np

from agssp.core.anomaly_maps import load_anomaly_map, map_relpath
from agssp.core.coco import coco_xyxy
from agssp.core.images import list_images
from agssp.core.training_logs import read_scalars
from agssp.evaluation.detection_metrics import PER_CLASS_AP
from agssp.evaluation.results_table import MAP, MAP50, RunSkipped, best_validation, read_validations
from agssp.pipeline.config_edit import REPO_ROOT
from agssp.pipeline.splits import held_out_split
from agssp.pipeline.stage_runner import DONE_FILE
from agssp.visualization.boxes import draw_boxes, save_png
from agssp.visualization.curves import plot_bars, plot_curves, series
from agssp.visualization.map_overlays import render_overlay, titled

# Lowest score of a detection the report draws, and the threshold of its tools/infer.py command.
MIN_SCORE = 0.05


def _grid(images, columns):
    """Tile BGR images into rows of ``columns``, each scaled to the lowest one's height (aspect
    kept: a 4x larger photo beside the others does not blow up every cell) and padded with white."""
    height = min(im.shape[0] for im in images)
    images = [_to_height(im, height) for im in images]
    width = max(im.shape[1] for im in images)
    cells = [cv2.copyMakeBorder(im, 0, height - im.shape[0], 0, width - im.shape[1] + 6,
                                cv2.BORDER_CONSTANT, value=(255, 255, 255)) for im in images]
    while len(cells) % columns:
        cells.append(np.full_like(cells[0], 255))
    rows = [np.hstack(cells[i:i + columns]) for i in range(0, len(cells), columns)]
    return np.vstack(rows)


def _stage_summary(pipeline, name) -> dict:
    done = pipeline.stage_dir(name) / DONE_FILE
    return json.loads(done.read_text())['summary'] if done.is_file() else {}


def _boxes_as_mask(gt, file_name, shape):
    """The pool image's true boxes filled in, standing in for a mask where there is none."""
    mask = np.zeros(shape, np.uint8)
    ids = {img['id'] for img in gt['images'] if img['file_name'] == file_name}
    for ann in gt['annotations']:
        if ann['image_id'] in ids:
            x, y, w, h = (int(round(v)) for v in ann['bbox'])
            mask[y:y + h, x:x + w] = 1
    return mask


def maps_figure(pipeline, info, out_png, count=6):
    """Images of the unlabelled pool with their mask (or true boxes) and anomaly map, picked
    evenly across the pool's images with defects."""
    img_dir, mask_dir = Path(info['unlabelled_dir']), info.get('unlabelled_mask_dir')
    gt = json.loads(Path(info['unlabelled_boxes']).read_text()) if info.get(
        'unlabelled_boxes') else None
    file_of = {img['id']: img['file_name'] for img in gt['images']} if gt else {}
    with_defect = sorted({file_of[a['image_id']] for a in gt['annotations']}) if gt else []
    if with_defect:
        step = max(1, len(with_defect) // count)
        rels = with_defect[step // 2::step][:count]
    else:
        rels = [r.as_posix() for r in list_images(img_dir)[:count]]
    maps = [load_anomaly_map(pipeline.maps_dir / map_relpath(r)) for r in rels]
    high = float(np.percentile([m.max() for m in maps], 99)) if maps else 1.0
    low = float(min(m.min() for m in maps)) if maps else 0.0
    panels = []
    for rel, amap in zip(rels, maps):
        image = cv2.imread(str(img_dir / rel), cv2.IMREAD_COLOR)
        if mask_dir:
            mask = cv2.imread(str(Path(mask_dir) / Path(rel).with_suffix('.png')),
                              cv2.IMREAD_GRAYSCALE) > 127
        elif gt:
            mask = _boxes_as_mask(gt, rel, image.shape[:2])
        else:
            mask = np.zeros(image.shape[:2], np.uint8)
        panels.append(render_overlay(image, mask.astype(np.uint8), amap, (low, high)))
    return save_png(out_png, _grid(panels, 2)) if panels else None


def pseudo_boxes_figure(pipeline, out_png):
    """The drawn samples of the pseudo-box stage, tiled."""
    files = sorted((pipeline.stage_dir('pseudo_boxes') / 'samples').rglob('*.png'))
    images = [cv2.imread(str(f), cv2.IMREAD_COLOR) for f in files]
    images = [im for im in images if im is not None]
    return save_png(out_png, _grid(images, 4)) if images else None


def detections_figure(run_results, info, out_png, count=4, min_score=None, extra=2,
                      panel_height=200):
    """Held-out images (spread over the split): ground truth (green), then each run's best
    detections (red, scored).

    Per image and run: the highest-scored detections, at most as many as there are true boxes
    plus ``extra``, each scored at least ``min_score`` (default :data:`MIN_SCORE`; short CPU
    trainings score low).
    """
    min_score = MIN_SCORE if min_score is None else min_score
    test_ann, test_img_dir = held_out_split(info)
    gt = json.loads(Path(test_ann).read_text())
    predictions = {name: json.loads(Path(r['predictions']).read_text())
                   for name, r in run_results.items()}
    step = max(1, len(gt['images']) // count)
    rows = []
    for image in gt['images'][step // 2::step][:count]:
        picture = cv2.imread(str(Path(test_img_dir) / image['file_name']), cv2.IMREAD_COLOR)
        gt_boxes = [coco_xyxy(a['bbox']) for a in gt['annotations'] if a['image_id'] == image['id']]
        panels = [('ground truth', draw_boxes(picture, gt_boxes, color=(0, 200, 0)))]
        for name, dets in predictions.items():
            dets = sorted((d for d in dets if d['image_id'] == image['id']
                           and d['score'] >= min_score), key=lambda d: -d['score'])
            dets = dets[:len(gt_boxes) + extra]
            panels.append((name, draw_boxes(picture, [coco_xyxy(d['bbox']) for d in dets],
                                            [d['score'] for d in dets])))
        panels = [(t, _to_height(p, panel_height)) for t, p in panels]
        rows.append(np.hstack([cv2.copyMakeBorder(titled(p, t) if not rows else p, 0, 4, 0, 4,
                                                  cv2.BORDER_CONSTANT, value=(255, 255, 255))
                               for t, p in panels]))
    if not rows:
        return None
    width = max(r.shape[1] for r in rows)
    rows = [cv2.copyMakeBorder(r, 0, 0, 0, width - r.shape[1], cv2.BORDER_CONSTANT,
                               value=(255, 255, 255)) for r in rows]
    return save_png(out_png, np.vstack(rows))


def _to_height(picture, height):
    """``picture`` scaled to ``height`` rows, its aspect kept (wide images stay wide)."""
    h, w = picture.shape[:2]
    return cv2.resize(picture, (max(1, round(w * height / h)), height),
                      interpolation=cv2.INTER_AREA if h > height else cv2.INTER_LINEAR)



def _number(value, digits=3) -> str:
    """A figure for the report's text: ``n/a`` for missing or NaN values."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return 'n/a'
    return f'{value:.{digits}f}' if isinstance(value, float) else str(value)


def maps_text(info, summary) -> str:
    """Markdown: how many maps the pool got and, where it has masks, how well they score."""
    lines = [f"Pool: {info['num_unlabelled']} unlabelled images, sources "
             f"{', '.join(info['sources'])}. {summary.get('maps', 0)} maps written, "
             f"{summary.get('skipped', 0)} images skipped."]
    metrics = summary.get('metrics')
    if not metrics:
        return lines[0] + ' No masks or true boxes to score the maps against.'
    lines += ['', '| image AUROC | pixel AUROC | pixel AP | AUPRO (FPR <= 0.3) |',
              '|---|---|---|---|',
              '| ' + ' | '.join(_number(metrics.get(k)) for k in
                                ('image_auroc', 'pixel_auroc', 'pixel_ap', 'aupro')) + ' |', '',
              f"Scored against the pool's masks: {metrics.get('anomalous_images')} of "
              f"{metrics.get('images')} images have defects ({metrics.get('regions')} defect "
              f"regions); pixel figures over {metrics.get('kept_pixels')} of "
              f"{metrics.get('pixels')} pixels."]
    return '\n'.join(lines)


def _threshold_text(threshold) -> str:
    """Markdown: the pseudo-box threshold rule and its values (one row per group of maps)."""
    cfg = threshold.get('cfg', {})
    kind = cfg.get('type')
    if kind != 'mean_max':
        settings = ', '.join(f'{k}={v}' for k, v in cfg.items() if k != 'type')
        value = threshold.get('value')
        return (f"Threshold: `{kind}` ({settings}), "
                + (f'{_number(value)} for every map.' if value is not None else 'per image.'))
    groups = threshold.get('groups') or {'pool': dict(
        threshold=threshold.get('value'), mean_max=threshold.get('mean_max'), unit=1.0,
        n_maps=threshold.get('n_maps'))}
    per = 'per source dataset' if cfg.get('group', 'pool') == 'source' else 'over the whole pool'
    unit = {'spread': ' x the maps\' value range (1st percentile of minima to 99th of maxima)',
            'unit': ' (in map values)'}.get(threshold.get('scale', 'unit'), '')
    lines = [f"Threshold: the mean of the maps' maxima {float(cfg.get('offset', 0)):+g}{unit}, "
             f"{per}; {threshold.get('n_failed', 0)} unusable maps left out.", '',
             '| maps of | maps | mean of maxima | unit | threshold |', '|---|---|---|---|---|']
    for name, g in groups.items():
        lines.append(f"| {name} | {g.get('n_maps')} | {_number(g.get('mean_max'))} | "
                     f"{_number(g.get('unit'))} | {_number(g.get('threshold'))} |")
    return '\n'.join(lines)


def pseudo_boxes_text(summary) -> str:
    """Markdown: pseudo-box counts, the threshold and, with true boxes, recall and precision."""
    lines = [f"{summary.get('images_with_boxes', 0)} of {summary.get('images', 0)} pool images "
             f"got pseudo boxes ({summary.get('boxes', 0)} boxes; {summary.get('skipped', 0)} "
             'images skipped).', '']
    if summary.get('threshold'):
        lines += [_threshold_text(summary['threshold']), '']
    quality = summary.get('quality')
    if quality:
        lines += ["Against the pool's true boxes (one-to-one, IoU >= 0.5):", '',
                  '| true boxes | pseudo boxes | true boxes found | pseudo boxes right | '
                  'recall | precision |', '|---|---|---|---|---|---|',
                  f"| {quality.get('gt')} | {quality.get('pred')} | {quality.get('matched_gt')} "
                  f"| {quality.get('matched_pred')} | {_number(quality.get('recall'))} | "
                  f"{_number(quality.get('precision'))} |"]
    return '\n'.join(lines).rstrip()


def validation_scores(finetune_dir, runs) -> dict:
    """Each run's best validation ``(mAP@0.5, mAP@0.5:0.95)``: what picked its checkpoint (NaN
    when its log holds none)."""
    scores = {}
    for name in runs:
        try:
            best = best_validation(read_validations(Path(finetune_dir) / name))
            scores[name] = (best[MAP50], best.get(MAP, math.nan))
        except RunSkipped:
            scores[name] = (math.nan, math.nan)
    return scores


def best_run(scores: dict) -> str:
    """The run with the highest validation mAP@0.5 (then mAP@0.5:0.95; NaN ranks last): the
    test split decides nothing, not even which model the report recommends."""
    return max(scores, key=lambda name: tuple(-math.inf if v is None or math.isnan(v) else v
                                              for v in scores[name]))


def splits_text(info) -> str:
    """One sentence: the sizes of the splits and what each one decides."""
    num_test = info.get('num_test', info['num_val'])
    if 'test_ann' not in info:
        return (f'This run predates the validation/test protocol: its {info["num_val"]} '
                'held-out images both picked the checkpoint and scored it.')
    if info['test_ann'] == info['val_ann']:
        return (f'Labelled training images: {info["num_train"]} (first seed). This data has no '
                f'separate test split: its {info["num_val"]} held-out images both pick each '
                "run's checkpoint and score it, so the figures are optimistic (the demo shows "
                'the wiring; a test file kept apart gives the protocol).')
    return (f'Labelled training images: {info["num_train"]} (first seed); the best checkpoint '
            f'of each run is picked on the validation split ({info["num_val"]} images); the '
            f'test split ({num_test} images) is scored once, with that checkpoint, and only its '
            'figures are in the tables.')


def infer_command(pipeline, runs, info, score_thr):
    """``(run name, command)``: ``tools/infer.py`` on the config dump and checkpoint of the run
    best on validation (:func:`best_run`),
    over the held-out images (absolute paths: it runs from any folder)."""
    name = best_run(validation_scores(pipeline.stage_dir('finetune'), runs))
    paths = [REPO_ROOT / 'tools' / 'infer.py', pipeline.stage_dir('finetune') / name / 'config.py',
             runs[name]['checkpoint'], held_out_split(info)[1]]
    args = [sys.executable, *(str(Path(p).resolve()) for p in paths),
            '--out-dir', str((pipeline.work_dir / f'infer_{name}').resolve()),
            '--score-thr', f'{score_thr:g}']
    return name, shlex.join(args)


def by_arm(runs: dict) -> dict:
    """``arm -> [run results in seed order]`` (run names are ``<arm>_seed<seed>``)."""
    arms = {}
    for name, result in runs.items():
        arms.setdefault(name.split('_seed')[0], []).append(result)
    return arms


def _paired_gains(arms: dict, arm: str, control: str) -> list:
    """Per-seed mAP@0.5 of ``arm`` minus ``control`` (seeds both ran)."""
    control_of = {r['seed']: r['overall']['mAP50'] for r in arms.get(control, [])}
    return [r['overall']['mAP50'] - control_of[r['seed']] for r in arms[arm]
            if r['seed'] in control_of]


def results_tables(runs: dict) -> str:
    """Markdown: one row per arm (mean ± sd over seeds; per-seed gains against ``scratch`` and
    ``cls``), then per class and per run. Every figure is on the test split."""
    arms = by_arm(runs)
    controls = [c for c in ('scratch', 'cls') if c in arms]
    lines = ['| arm | seeds | mAP@0.5 (± sd) | mAP@0.5:0.95 (± sd) | '
             + ' | '.join(f'- {c}, mAP@0.5 per seed' for c in controls) + ' |',
             '|---|---|---|---|' + '---|' * len(controls)]
    for arm, results in arms.items():
        m50 = [r['overall']['mAP50'] for r in results]
        m = [r['overall']['mAP'] for r in results]
        cells = []
        for control in controls:
            gains = _paired_gains(arms, arm, control) if arm != control else []
            cells.append(', '.join(f'{g:+.3f}' for g in gains)
                         + (f' (mean {mean(gains):+.3f})' if len(gains) > 1 else '') or '-')
        lines.append(f'| {arm} | {len(results)} | {mean(m50):.3f} ± {pstdev(m50):.3f} | '
                     f'{mean(m):.3f} ± {pstdev(m):.3f} | ' + ' | '.join(cells) + ' |')
    classes = list(next(iter(runs.values()))['per_class'])
    lines += ['', '| run | ' + ' | '.join(classes) + ' |',
              '|---|' + '---|' * len(classes)]
    for name, result in runs.items():
        cells = [f"{result['per_class'][c]['mAP50']:.3f} / {result['per_class'][c]['mAP']:.3f}"
                 for c in classes]
        lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    lines.append('')
    lines.append(f'Per class: AP@0.5 / AP@0.5:0.95 on the test split ({PER_CLASS_AP}). '
                 'sd: population sd over seeds.')
    return '\n'.join(lines)


def arms_figure(runs: dict, out_png):
    """Bar chart of the arms: mAP@0.5 and mAP@0.5:0.95, mean ± sd over seeds."""
    groups = {arm: {metric: (mean(r['overall'][key] for r in results),
                             pstdev([r['overall'][key] for r in results]))
                    for metric, key in (('mAP@0.5', 'mAP50'), ('mAP@0.5:0.95', 'mAP'))}
              for arm, results in by_arm(runs).items()}
    return plot_bars(groups, 'Fine-tuning arms (test split)', 'mAP', out_png)


def write_report(pipeline, out: Path) -> dict:
    """Write ``report.md`` and its figures into ``out`` (and a copy of the md in the work dir)."""
    info = pipeline.data_info()
    fig = {}
    fig['maps'] = maps_figure(pipeline, info, out / 'maps.png')
    fig['pseudo_boxes'] = pseudo_boxes_figure(pipeline, out / 'pseudo_boxes.png')
    agbp_logs = read_scalars(pipeline.stage_dir('agbp'))
    fig['agbp_loss'] = plot_curves(
        {key: series(agbp_logs, key) for key in ('loss', 'loss_distill', 'loss_cls')},
        'AGBP training loss', 'iteration', 'loss', out / 'agbp_loss.png')
    fig['agdp_loss'] = plot_curves(
        {key: series(read_scalars(pipeline.stage_dir('agdp')), key)
         for key in ('loss', 'loss_cls', 'loss_bbox')},
        'AGDP training loss (pseudo boxes)', 'iteration', 'loss', out / 'agdp_loss.png')
    runs = _stage_summary(pipeline, 'finetune').get('runs', {})
    skipped_arms = _stage_summary(pipeline, 'finetune').get('arms_skipped', {})
    finetune_dir = pipeline.stage_dir('finetune')
    fig['finetune_map'] = plot_curves(
        {name: series(read_scalars(finetune_dir / name), 'coco/bbox_mAP_50') for name in runs},
        'Fine-tuning: validation mAP@0.5', 'epoch', 'mAP@0.5', out / 'finetune_map50.png')
    fig['arms'] = arms_figure(runs, out / 'arms.png') if runs else None
    seeds = sorted({r['seed'] for r in runs.values()})
    first_seed = {k: v for k, v in runs.items() if v['seed'] == seeds[0]} if seeds else {}
    fig['detections'] = detections_figure(first_seed, info, out / 'detections.png') \
        if first_seed else None

    stages = {name: _stage_summary(pipeline, name) for name in pipeline.stage_names
              if name != 'report'}
    elapsed = {k: v['elapsed_s'] for k, v in stages.items() if 'elapsed_s' in v}
    md = ['# AGSSP pipeline report', '',
          f'Work dir: `{pipeline.work_dir}`. Stage times (minutes): ' + ', '.join(
              f'{k} {s / 60:.1f}' for k, s in elapsed.items())
          + f'; total {sum(elapsed.values()) / 60:.1f}.', '',
          '## Results: fine-tuning on the labelled split', '',
          'Detection on the test split, one row per initialisation arm (scratch; cls: source '
          'classification on the pool; agbp: the AGBP backbone; agssp: AGBP backbone + AGDP '
          'neck/head; random_boxes: AGDP on the pseudo boxes moved to random places; '
          'pretrained: a named backbone checkpoint), same labelled images, same schedule, '
          'same seeds. ' + splits_text(info),
          '',
          results_tables(runs) if runs else '(no fine-tuning results)', '',
          *[f'Arm `{arm}` not run: {why}' for arm, why in skipped_arms.items()],
          '![arms](arms.png)', '',
          '![mAP curves](finetune_map50.png)', '',
          '![detections](detections.png)', '',
          'Detections on held-out images: ground truth (green), then each run ('
          + ', '.join(first_seed) + '): its highest-scored boxes (red, at most the number of '
          f'true boxes + 2, score >= {MIN_SCORE}).', '',
          '## Anomaly maps', '', maps_text(info, stages['anomaly_maps']), '',
          '![maps](maps.png)', '',
          'Pool images with defects: image, mask (the true boxes filled in where the data has '
          'no masks), map over the image with the mask outline (one colour scale).', '',
          '## Pseudo boxes', '', pseudo_boxes_text(stages['pseudo_boxes']), '',
          '![pseudo boxes](pseudo_boxes.png)', '',
          '## AGBP and AGDP', '', '![AGBP loss](agbp_loss.png)', '', '![AGDP loss](agdp_loss.png)',
          '']
    if runs:
        name, command = infer_command(pipeline, runs, info, MIN_SCORE)
        md += ['## Running the best model', '',
               f'The best fine-tuning run by validation mAP@0.5 is `{name}`. Its detector on the '
               f'held-out images (predictions.json and drawn images in `infer_{name}/` of the '
               f'work dir; any image, folder or glob in place of the folder):', '',
               '```bash', command, '```', '']
    (out / 'report.md').write_text('\n'.join(md))
    (pipeline.work_dir / 'report.md').write_text(
        '\n'.join(md).replace('](', f']({out.name}/'))
    return dict(report=str(out / 'report.md'),
                figures={k: str(v) for k, v in fig.items() if v is not None})
