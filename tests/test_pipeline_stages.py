"""Pipeline mechanics: stages skip once complete, rerun when settings change; config edits."""
import json
from pathlib import Path

import pytest

from agssp.pipeline.config_edit import rescale_yolo_pipelines
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
