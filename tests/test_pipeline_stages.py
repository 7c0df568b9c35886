"""Pipeline mechanics: stages skip once complete, rerun when settings change; config edits."""
import json
from pathlib import Path

import pytest

from agssp.engine.detector_adapter import rescale_yolo_pipelines
from agssp.pipeline.stage_runner import Stage, run_stages, stage_is_done

REPO = Path(__file__).resolve().parents[1]


def _stage(name, settings, calls):
    def run(stage_dir):
        calls.append(name)
        (stage_dir / 'out.txt').write_text(name)
        return dict(made=name)
    return Stage(name, settings, run)


def test_complete_stages_are_skipped_and_later_ones_rerun(tmp_path):
    calls = []
    stages = [_stage('a', dict(x=1), calls), _stage('b', dict(y=2), calls)]
    summaries = run_stages(stages, tmp_path, log=lambda m: None)
    assert calls == ['a', 'b'] and summaries['a']['made'] == 'a'
    assert stage_is_done(tmp_path / '01_a', dict(x=1))

    calls.clear()
    run_stages(stages, tmp_path, log=lambda m: None)
    assert calls == []  # a finished run does nothing again

    calls.clear()
    stages[0] = _stage('a', dict(x=5), calls)  # changed settings: this stage and all after it
    run_stages(stages, tmp_path, log=lambda m: None)
    assert calls == ['a', 'b']


def test_a_stage_killed_midway_runs_again(tmp_path):
    calls = []

    def crash(stage_dir):
        raise KeyboardInterrupt

    try:
        run_stages([_stage('a', {}, calls), Stage('b', {}, crash)], tmp_path, log=lambda m: None)
    except KeyboardInterrupt:
        pass
    assert not (tmp_path / '02_b' / 'stage_done.json').exists()
    (tmp_path / '02_b' / 'partial.ckpt').write_text('kept')
    calls.clear()
    run_stages([_stage('a', {}, calls), _stage('b', {}, calls)], tmp_path, log=lambda m: None)
    assert calls == ['b']  # a stays done, b resumes in its folder
    assert (tmp_path / '02_b' / 'partial.ckpt').is_file()
    assert json.loads((tmp_path / '02_b' / 'stage_done.json').read_text())['summary']['made'] == 'b'


def test_an_interrupted_stage_with_new_settings_starts_from_an_empty_folder(tmp_path):
    def crash(stage_dir):
        (stage_dir / 'partial.ckpt').write_text('stale')
        raise KeyboardInterrupt

    try:
        run_stages([Stage('a', dict(lr=1), crash)], tmp_path, log=lambda m: None)
    except KeyboardInterrupt:
        pass
    calls = []
    run_stages([_stage('a', dict(lr=2), calls)], tmp_path, log=lambda m: None)
    assert calls == ['a'] and not (tmp_path / '01_a' / 'partial.ckpt').exists()


def test_rescale_yolo_pipelines_sets_every_size_and_the_mosaic_border():
    pipeline = [dict(type='LoadImageFromFile'),
                dict(type='Mosaic', img_scale=(640, 640),
                     pre_transform=[dict(type='LoadImageFromFile')]),
                dict(type='YOLOv5RandomAffine', border=(-320, -320)),
                dict(type='YOLOv5KeepRatioResize', scale=(640, 640)),
                dict(type='LetterResize', scale=(640, 640))]
    hooks = [dict(type='PipelineSwitchHook', switch_pipeline=[
        dict(type='LetterResize', scale=(640, 640)),
        dict(type='YOLOv5RandomAffine', border_val=(114, 114, 114))])]
    out = rescale_yolo_pipelines(dict(dataset=dict(pipeline=pipeline)), (192, 160))
    steps = out['dataset']['pipeline']
    assert steps[1]['img_scale'] == (192, 160)
    assert steps[2]['border'] == (-80, -96)
    assert steps[3]['scale'] == steps[4]['scale'] == (192, 160)
    switched = rescale_yolo_pipelines(hooks, (192, 160))[0]['switch_pipeline']
    assert switched[0]['scale'] == (192, 160)
    assert 'border' not in switched[1]  # no Mosaic in that pipeline: no border to set
    assert pipeline[1]['img_scale'] == (640, 640)  # the input is left as it was


@pytest.mark.parametrize('name', sorted(p.name for p in (REPO / 'configs' / 'pipeline').glob('*.py')))
def test_pipeline_configs_name_existing_stage_configs_and_a_known_data_source(name):
    from mmengine.config import Config

    from agssp.pipeline.data_sources import DATA_SOURCES
    cfg = Config.fromfile(REPO / 'configs' / 'pipeline' / name)
    assert cfg.data.type in DATA_SOURCES
    for section in ('anomaly', 'agbp', 'agdp', 'finetune'):
        assert (REPO / cfg[section].config).is_file(), f'{name}: {section}.config'
    assert cfg.finetune.seeds, f'{name}: no fine-tuning seed'
    if 'labelled_seeds' in cfg.data:  # one labelled split per fine-tuning seed
        assert set(cfg.finetune.seeds) <= set(cfg.data.labelled_seeds)


def test_a_stage_reruns_only_when_a_stage_it_reads_was_redone_and_says_why(tmp_path):
    calls, lines = [], []

    def stages(a=1, b=1):
        return [_stage('a', dict(x=a), calls), _stage('b', dict(y=b), calls),
                Stage('c', dict(z=1), _stage('c', {}, calls).run, deps=['a'])]

    run_stages(stages(), tmp_path, log=lines.append)
    assert calls == ['a', 'b', 'c'] and '(first run)' in lines[0]
    calls.clear()
    run_stages(stages(b=2), tmp_path, log=lines.append)
    assert calls == ['b']  # c reads only a
    assert any('settings changed: y' in line for line in lines)
    calls.clear()
    lines.clear()
    run_stages(stages(a=2, b=2), tmp_path, log=lines.append)
    assert calls == ['a', 'b', 'c']
    assert any('[stage 3/3 c] running' in line and 'redone upstream: a' in line
               for line in lines)


def test_a_stage_cannot_read_a_later_one(tmp_path):
    calls = []
    with pytest.raises(ValueError, match='do not run before it'):
        run_stages([Stage('a', {}, _stage('a', {}, calls).run, deps=['b']),
                    _stage('b', {}, calls)], tmp_path, log=lambda m: None)


def test_a_kept_folder_survives_a_rerun(tmp_path):
    calls = []
    keep = [Stage('k', dict(v=1), _stage('k', {}, calls).run, keep_folder=True)]
    run_stages(keep, tmp_path, log=lambda m: None)
    (tmp_path / '01_k' / 'run.json').write_text('kept')
    keep[0].settings = dict(v=2)
    run_stages(keep, tmp_path, log=lambda m: None)
    assert (tmp_path / '01_k' / 'run.json').read_text() == 'kept' and calls == ['k', 'k']


def test_random_boxes_keep_counts_and_sizes_but_not_places():
    from agssp.pseudo_boxes.random_boxes import random_boxes_like
    coco = dict(categories=[dict(id=1, name='defect')],
                images=[dict(id=1, file_name='a.png', width=100, height=50),
                        dict(id=2, file_name='b.png', width=200, height=100),
                        dict(id=3, file_name='c.png', width=100, height=100)],
                annotations=[dict(id=1, image_id=1, bbox=[10, 10, 20, 10], category_id=1),
                             dict(id=2, image_id=1, bbox=[50, 20, 10, 5], category_id=1),
                             dict(id=3, image_id=2, bbox=[0, 0, 100, 50], category_id=1)])
    out = random_boxes_like(coco, seed=0).to_dict()
    by_image = {}
    for ann in out['annotations']:
        by_image.setdefault(ann['image_id'], []).append(ann['bbox'])
    sizes = {img['id']: (img['width'], img['height']) for img in out['images']}
    assert sorted(len(v) for v in by_image.values()) == [1, 2] and len(out['images']) == 3
    relative = sorted((round(w / sizes[i][0], 6), round(h / sizes[i][1], 6))
                      for i, boxes in by_image.items() for _, _, w, h in boxes)
    assert relative == [(0.1, 0.1), (0.2, 0.2), (0.5, 0.5)]
    for i, boxes in by_image.items():
        for x, y, w, h in boxes:
            assert 0 <= x and x + w <= sizes[i][0] + 1e-6 and 0 <= y and y + h <= sizes[i][1] + 1e-6
    original = {tuple(a['bbox']) for a in coco['annotations']}
    assert not original & {tuple(a['bbox']) for a in out['annotations']}
    assert random_boxes_like(coco, seed=0).to_dict() == out
