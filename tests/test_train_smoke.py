"""tools/train.py runs the demo YOLOv8-s config end to end for one short epoch on the CPU."""
import os
import subprocess
import sys
from pathlib import Path

from agssp.demo import generate_demo_dataset

REPO = Path(__file__).resolve().parents[1]


def test_yolov8_demo_trains_validates_and_checkpoints(tmp_path):
    data = tmp_path / 'demo'
    generate_demo_dataset(data, num_unlabelled=0, num_train=4, num_val=2, size=128, seed=0)
    work = tmp_path / 'work'
    cmd = [sys.executable, str(REPO / 'tools' / 'train.py'),
           str(REPO / 'configs' / 'finetune' / 'yolo' / 'yolov8_s_cspdarknet_demo.py'),
           '--work-dir', str(work), '--cfg-options', 'train_cfg.max_epochs=1',
           'train_cfg.val_interval=1', 'train_dataloader.batch_size=2',
           'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
           'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
           'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False']
    env = {**os.environ, 'AGSSP_DEMO_ROOT': f'{data}/'}
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (work / 'epoch_1.pth').is_file()
    assert 'coco/bbox_mAP_50' in result.stdout + result.stderr
