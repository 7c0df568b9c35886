"""The pipeline report's text: maps and pseudo-box figures as tables and sentences, the best run."""
import json
import math

import numpy as np

from agssp.pipeline.report import (_grid, best_run, maps_text, pseudo_boxes_text, splits_text,
                                   validation_scores)

INFO = dict(num_unlabelled=24, sources=['brushed', 'cast'])


def _table_rows(md):
    return [line for line in md.splitlines() if line.startswith('|')]


def test_maps_text_is_a_table_and_a_sentence_not_json():
    summary = dict(maps=24, skipped=1, metrics=dict(
        image_auroc=0.40336, pixel_auroc=0.59289, pixel_ap=math.nan, aupro=0.39130, images=24,
        anomalous_images=17, regions=40, pixels=221184, kept_pixels=200000))
    md = maps_text(INFO, summary)
    assert '{' not in md and '"' not in md
    assert 'sources brushed, cast. 24 maps written, 1 images skipped.' in md
    assert _table_rows(md)[2] == '| 0.403 | 0.593 | n/a | 0.391 |'
    assert '17 of 24 images have defects (40 defect regions)' in md
    assert 'over 200000 of 221184 pixels' in md
    assert 'No masks' in maps_text(INFO, dict(maps=24, skipped=0))


def test_pseudo_boxes_text_per_source_thresholds_and_quality():
    summary = dict(images=24, images_with_boxes=12, boxes=16, skipped=0, quality=dict(
        gt=40, pred=16, matched_gt=1, matched_pred=1, recall=0.025, precision=0.0625),
        threshold=dict(cfg=dict(type='mean_max', offset=-0.1, group='source', scale='spread'),
                       value=None, scale='spread', n_failed=0, groups=dict(
                           brushed=dict(threshold=2.1, mean_max=2.5, unit=4.0, n_maps=10),
                           cast=dict(threshold=1.3, mean_max=1.5, unit=2.0, n_maps=14))))
    md = pseudo_boxes_text(summary)
    assert '{' not in md
    assert md.startswith('12 of 24 pool images got pseudo boxes (16 boxes; 0 images skipped).')
    assert "maxima -0.1 x the maps' value range" in md and 'per source dataset' in md
    rows = _table_rows(md)
    assert '| brushed | 10 | 2.500 | 4.000 | 2.100 |' in rows
    assert '| cast | 14 | 1.500 | 2.000 | 1.300 |' in rows
    assert rows[-1] == '| 40 | 16 | 1 | 1 | 0.025 | 0.062 |'


def test_pseudo_boxes_text_pooled_and_per_image_thresholds():
    pooled = dict(images=4, images_with_boxes=0, boxes=0, skipped=1, threshold=dict(
        cfg=dict(type='mean_max', offset=-0.1), value=2.437, mean_max=2.537, n_maps=4,
        n_failed=1))
    md = pseudo_boxes_text(pooled)
    assert 'over the whole pool; 1 unusable maps left out' in md
    assert '| pool | 4 | 2.537 | 1.000 | 2.437 |' in _table_rows(md)
    assert 'true boxes' not in md  # no ground truth, no quality table
    otsu = pseudo_boxes_text(dict(images=4, images_with_boxes=2, boxes=3, skipped=0,
                                  threshold=dict(cfg=dict(type='otsu'), value=None)))
    assert 'Threshold: `otsu` (), per image.' in otsu


def test_best_run_is_chosen_on_validation_ignores_nan_and_breaks_ties_on_map(tmp_path):
    def record(step, map50, map_):
        return {'step': step, 'coco/bbox_mAP_50': map50, 'coco/bbox_mAP': map_}
    validations = dict(scratch_seed0=[record(1, math.nan, 0.1)],
                       agssp_seed0=[record(1, 0.2, 0.05)],
                       agssp_seed1=[record(1, 0.1, 0.3), record(2, 0.2, 0.07)])
    for name, records in validations.items():
        log = tmp_path / name / '20261202_000000' / 'vis_data' / 'scalars.json'
        log.parent.mkdir(parents=True)
        log.write_text('\n'.join(json.dumps(r) for r in records) + '\n')
    # the test split's figures (overall) would pick scratch_seed0: they decide nothing here
    runs = {name: dict(overall=dict(mAP50=0.9 if name == 'scratch_seed0' else 0.1, mAP=0.1))
            for name in validations}
    scores = validation_scores(tmp_path, runs)
    assert scores['agssp_seed1'] == (0.2, 0.07)
    assert best_run(scores) == 'agssp_seed1'


def test_splits_sentence_says_when_validation_is_also_the_test_split():
    info = dict(num_train=8, num_val=4, val_ann='val.json', test_ann='val.json', num_test=4)
    assert 'no separate test split' in splits_text(info)
    info.update(test_ann='test.json', num_test=6)
    text = splits_text(info)
    assert 'validation split (4 images)' in text and 'test split (6 images)' in text


def test_grid_scales_panels_of_mixed_sizes_to_one_height():
    small, large = np.zeros((100, 250, 3), np.uint8), np.zeros((400, 1000, 3), np.uint8)
    grid = _grid([small, large, small], columns=2)
    assert grid.shape == (200, 2 * (250 + 6), 3)
    assert (grid[100:, 256:] == 255).all() and not (grid[:100, 256:506] == 255).any()
