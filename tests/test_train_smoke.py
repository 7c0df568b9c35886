"""tools/train.py and the torchrun launcher run the demo YOLOv8-s config for one short epoch."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agssp.demo import generate_demo_dataset

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[1]


CONFIG = REPO / 'configs' / 'finetune' / 'yolo' / 'yolov8_s_cspdarknet_demo.py'
SHORT_RUN = ['--cfg-options', 'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
             'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
             'train_dataloader.persistent_workers=False', 'val_dataloader.num_workers=0',
             'val_dataloader.persistent_workers=False', 'test_dataloader.num_workers=0',
             'test_dataloader.persistent_workers=False']


def _run(cmd, tmp_path, extra_env=None):
    data = tmp_path / 'data' / 'demo'  # the config's data_root, relative to the run's folder
    generate_demo_dataset(data, num_unlabelled=0, num_train=4, num_val=2, size=128, seed=0)
    env = {**os.environ, **(extra_env or {})}
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env,
                            cwd=tmp_path)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return result.stdout + result.stderr


def test_yolov8_demo_trains_validates_and_checkpoints(tmp_path):
    work = tmp_path / 'work'
    out = _run([sys.executable, str(REPO / 'tools' / 'train.py'), str(CONFIG),
                '--work-dir', str(work), *SHORT_RUN], tmp_path)
    assert (work / 'epoch_1.pth').is_file()
    assert 'coco/bbox_mAP_50' in out


def test_dist_launcher_runs_two_cpu_processes(tmp_path):
    work = tmp_path / 'work'
    out = _run(['bash', str(REPO / 'dist_run_pretrain.sh'), str(CONFIG), '--work-dir', str(work),
                *SHORT_RUN], tmp_path, dict(GPUS='2', PORT='29731'))
    assert 'Distributed training: True' in out
    assert (work / 'epoch_1.pth').is_file()
