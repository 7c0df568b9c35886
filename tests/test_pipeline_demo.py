"""The demo pipeline end to end at its smallest size (about 6 min on 2 cores).

The first run is killed as soon as AGBP starts; the second must resume there without redoing
the anomaly maps and write the report; a third finds every stage complete; a fourth adds the two
control arms (cls, random_boxes): their pretrainings run, the runs already made are kept. The
agbp and pretrained arms start as cls does, from a backbone checkpoint
(``tests/test_finetune_stage.py`` checks each arm's initialisation).
"""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[1]


def _smallest_demo_command(tmp_path, work):
    return [sys.executable, str(REPO / 'tools' / 'run_pipeline.py'),
            str(REPO / 'configs' / 'pipeline' / 'demo.py'), '--work-dir', str(work),
            '--cfg-options', f'data.root={tmp_path / "data"}', 'data.num_unlabelled=24',
            'data.num_train=8', 'data.num_val=4', 'data.size=96',
            'anomaly.overrides.train.iterations=4', 'anomaly.overrides.train.batch_size=4',
            'agbp.overrides.train_cfg.max_iters=4', 'agbp.overrides.train_dataloader.batch_size=4',
            'agbp.overrides.default_hooks.checkpoint.interval=4', 'agdp.epochs=1',
            'agdp.img_scale=[96,96]', 'agdp.batch_size=4', 'finetune.epochs=1',
            'finetune.val_interval=1', 'finetune.img_scale=[96,96]', 'finetune.batch_size=4']


def _run_until_agbp_starts(cmd) -> str:
    """Start the pipeline and kill it (with its training subprocess) once AGBP is running."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=REPO, start_new_session=True)
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if '[stage 4/10 agbp] running' in line:
                os.killpg(proc.pid, signal.SIGKILL)
                break
    finally:
        proc.wait(timeout=600)
    return ''.join(lines)


def test_demo_pipeline_smallest_size_resumes_after_a_kill_and_writes_the_report(tmp_path):
    work = tmp_path / 'work'
    cmd = _smallest_demo_command(tmp_path, work)
    killed = _run_until_agbp_starts(cmd)
    assert '[stage 4/10 agbp] running' in killed, killed[-4000:]
    assert not (work / '04_agbp' / 'stage_done.json').exists()
    maps = sorted((work / '03_anomaly_maps' / 'maps').rglob('*.npy'))
    assert len(maps) == 24
    stamps = {m: m.stat().st_mtime_ns for m in maps}

    resumed = subprocess.run(cmd, capture_output=True, text=True, timeout=3000, cwd=REPO)
    assert resumed.returncode == 0, (resumed.stdout + resumed.stderr)[-4000:]
    for stage in ('1/10 data', '2/10 anomaly_model', '3/10 anomaly_maps'):
        assert f'[stage {stage}] complete, skipped' in resumed.stdout
    assert '[stage 4/10 agbp] resuming' in resumed.stdout
    assert {m: m.stat().st_mtime_ns for m in maps} == stamps  # maps not redone

    report = work / 'report.md'
    assert report.is_file() and 'mAP@0.5' in report.read_text()
    figures = sorted(p.name for p in (work / '10_report').glob('*.png'))
    assert {'maps.png', 'pseudo_boxes.png', 'agbp_loss.png', 'agdp_loss.png',
            'finetune_map50.png', 'detections.png'} <= set(figures)
    runs = json.loads((work / '09_finetune' / 'stage_done.json').read_text())['summary']['runs']
    assert set(runs) == {'scratch_seed0', 'agssp_seed0'}

    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert again.returncode == 0
    assert again.stdout.count('complete, skipped') == 10  # nothing is redone

    # the two control arms: the pretrainings they need run, the two runs already made are kept
    arms = cmd + ['finetune.arms=[scratch,cls,agssp,random_boxes]']
    kept = {name: (work / '09_finetune' / name / 'result.json').stat().st_mtime_ns
            for name in runs}
    all_arms = subprocess.run(arms, capture_output=True, text=True, timeout=3000, cwd=REPO)
    assert all_arms.returncode == 0, (all_arms.stdout + all_arms.stderr)[-4000:]
    for stage in ('1/10 data', '4/10 agbp', '6/10 agdp'):
        assert f'[stage {stage}] complete, skipped' in all_arms.stdout
    assert '[stage 7/10 cls_pretrain] running' in all_arms.stdout
    assert 'settings changed: needed' in all_arms.stdout
    summary = json.loads((work / '09_finetune' / 'stage_done.json').read_text())['summary']
    assert set(summary['runs']) == {f'{arm}_seed0' for arm in
                                    ('scratch', 'cls', 'agssp', 'random_boxes')}
    assert {name: (work / '09_finetune' / name / 'result.json').stat().st_mtime_ns
            for name in runs} == kept
    assert summary['runs']['cls_seed0']['init']['backbone'] == str(
        work / '07_cls_pretrain' / 'backbone.pth')
    boxes = json.loads((work / '08_random_boxes' / 'random_boxes.json').read_text())
    pseudo = json.loads((work / '05_pseudo_boxes' / 'pseudo_boxes.json').read_text())
    assert len(boxes['annotations']) == len(pseudo['annotations'])
    text = report.read_text()
    assert '| random_boxes |' in text and 'arms.png' in text
    times = text.split('Stage times (minutes): ')[1].split(';')[0]
    assert 'cls_pretrain' in times and 'random_boxes' in times
