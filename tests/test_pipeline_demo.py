"""The demo pipeline end to end at its smallest size (slow: run with `pytest -m slow`)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_demo_pipeline_smallest_size_writes_the_report_and_resumes(tmp_path):
    work = tmp_path / 'work'
    cmd = [sys.executable, str(REPO / 'tools' / 'run_pipeline.py'),
           str(REPO / 'configs' / 'pipeline' / 'demo.py'), '--work-dir', str(work),
           '--cfg-options', f'data.root={tmp_path / "data"}', 'data.num_unlabelled=24',
           'data.num_train=8', 'data.num_val=4', 'data.size=96',
           'anomaly.overrides.train.iterations=4', 'anomaly.overrides.train.batch_size=4',
           'agbp.overrides.train_cfg.max_iters=4', 'agbp.overrides.train_dataloader.batch_size=4',
           'agbp.overrides.default_hooks.checkpoint.interval=4', 'agdp.epochs=1',
           'agdp.img_scale=[96,96]', 'agdp.batch_size=4', 'finetune.epochs=2',
           'finetune.img_scale=[96,96]', 'finetune.batch_size=4']
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=3000, cwd=REPO)
    assert first.returncode == 0, (first.stdout + first.stderr)[-4000:]
    report = work / 'report.md'
    assert report.is_file() and 'mAP@0.5' in report.read_text()
    figures = sorted(p.name for p in (work / '08_report').glob('*.png'))
    assert {'maps.png', 'pseudo_boxes.png', 'agbp_loss.png', 'agdp_loss.png',
            'finetune_map50.png', 'detections.png'} <= set(figures)
    runs = json.loads((work / '07_finetune' / 'stage_done.json').read_text())['summary']['runs']
    assert set(runs) == {'scratch_seed0', 'agssp_seed0'}

    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert again.returncode == 0
    assert again.stdout.count('complete, skipped') == 8  # nothing is redone
