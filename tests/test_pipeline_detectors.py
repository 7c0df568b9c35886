"""``--cfg-options detector=...`` runs each shipped detector family through the pipeline at a
tiny size on the CPU (a few images, one epoch, 64 px): the recipe table's AGBP, AGDP and
fine-tuning files, the backbone export between them and the adapter's edits fit together."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

from agssp.engine import detector_family
from agssp.pipeline.recipes import DETECTORS, with_detector_recipes

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[1]
# DINO's 100 queries need more encoder tokens than 64 px gives (85 over its 4 scales).
SIZE = {'dino_swin-b-w6': 96}


def _tiny_pipeline_config(tmp_path, size) -> Path:
    """The demo pipeline with its stages naming no recipe (the table picks them)."""
    path = tmp_path / 'tiny_pipeline.py'
    path.write_text(f"""_base_ = {str(REPO / 'configs' / 'pipeline' / 'demo.py')!r}
agbp = dict(_delete_=True, overrides={{
    'train_cfg.max_epochs': 1, 'train_dataloader.batch_size': 4,
    'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False,
    'default_hooks.checkpoint.interval': 1,
    # one epoch at a constant lr: the recipes' warm-up alone spans more (Swin-B w7: 20 epochs)
    'param_scheduler': [dict(type='ConstantLR', factor=1.0, by_epoch=True, begin=0, end=1)]}})
agdp = dict(_delete_=True, img_scale=({size}, {size}), epochs=1, batch_size=4, num_workers=0)
finetune = dict(_delete_=True, img_scale=({size}, {size}), epochs=1, val_interval=1,
                batch_size=4, num_workers=0, seeds=[0], arms=['agssp'])
""")
    return path


def test_the_table_fills_only_the_stages_that_name_no_recipe():
    cfg = Config(dict(detector='dino_swin-b-w6', agbp=dict(config='mine.py'), agdp={},
                      finetune=dict(epochs=1)))
    with_detector_recipes(cfg)
    assert cfg.agbp.config == 'mine.py' and cfg.agbp.target == 'mmdet-swin'
    assert cfg.agdp.config == DETECTORS['dino_swin-b-w6']['agdp']
    assert cfg.finetune.config == DETECTORS['dino_swin-b-w6']['finetune']
    assert cfg.finetune.epochs == 1
    with pytest.raises(ValueError, match='known: yolov8_s_cspdarknet'):
        with_detector_recipes(Config(dict(detector='yolo11')))


def test_every_recipe_in_the_table_exists():
    for row in DETECTORS.values():
        for stage in ('agbp', 'agdp', 'finetune'):
            assert (REPO / row[stage]).is_file(), row[stage]


@pytest.mark.parametrize('detector', list(DETECTORS))
def test_detector_runs_through_the_pipeline(detector, tmp_path):
    work, size = tmp_path / 'work', SIZE.get(detector, 64)
    cmd = [sys.executable, str(REPO / 'tools' / 'run_pipeline.py'),
           str(_tiny_pipeline_config(tmp_path, size)), '--work-dir', str(work),
           '--cfg-options', f'detector={detector}', f'data.root={tmp_path / "data"}',
           'data.num_unlabelled=8', 'data.num_train=4', 'data.num_val=2', f'data.size={size}',
           'anomaly.overrides.train.iterations=2', 'anomaly.overrides.train.batch_size=4']
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, cwd=REPO)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    family = detector.split('_')[0].replace('yolov8', 'yolo').replace('faster-rcnn',
                                                                          'faster_rcnn')
    agdp = Config.fromfile(str(work / '06_agdp' / 'config.py'))
    assert detector_family(agdp) == family and agdp.train_cfg.max_epochs == 1
    done = json.loads((work / '09_finetune' / 'stage_done.json').read_text())
    assert 'bbox_mAP_50' in json.dumps(done['summary']['runs']['agssp_seed0'])
    ft = Config.fromfile(str(work / '09_finetune' / 'agssp_seed0' / 'config.py'))
    assert detector_family(ft) == family and ft.train_cfg.max_epochs == 1
    assert tuple(ft.img_scale) == (size, size)
