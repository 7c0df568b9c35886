"""The detector adapter writes classes, image size, schedule and data into every key each
family's upstream base reads; no shipped config reads the environment."""
import copy
import subprocess
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

from agssp.engine import adapt, detector_family
from agssp.engine.detector_adapter import set_epochs, validation_epochs

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / 'configs'
FAMILIES = {'yolo': 'finetune/yolo/yolov8_s_cspdarknet_agssp.py',
            'faster_rcnn': 'finetune/faster_rcnn/faster-rcnn_swin-b-w6_fpn_agssp.py',
            'dino': 'finetune/dino/dino-4scale_swin-b-w6_agssp.py'}


def test_no_config_reads_an_environment_variable():
    offenders = [str(p.relative_to(REPO)) for p in CONFIGS.rglob('*.py')
                 if '{{$' in p.read_text()]
    assert offenders == []


def _built_num_classes(cfg):
    """The class counts the built model's head (and YOLO's assigner) really use."""
    from mmengine.registry import MODELS, init_default_scope
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = MODELS.build(copy.deepcopy(cfg.model))  # DETR builders edit the dict
    family = detector_family(cfg)
    if family == 'yolo':
        return [model.bbox_head.num_classes, model.bbox_head.assigner.num_classes]
    if family == 'faster_rcnn':
        return [model.roi_head.bbox_head.num_classes]
    return [model.bbox_head.num_classes, model.dn_query_generator.num_classes]


def _sized(obj, found=None):
    """Every (type, key, value) size entry of the transforms under ``obj``."""
    found = [] if found is None else found
    if isinstance(obj, (list, tuple)):
        for v in obj:
            _sized(v, found)
    elif isinstance(obj, dict):
        for key in ('img_scale', 'scale', 'scales', 'crop_size'):
            if 'type' in obj and key in obj:
                found.append((obj['type'], key, obj[key]))
        for v in obj.values():
            _sized(v, found)
    return found


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_adapter_reaches_every_head_and_transform(family):
    cfg = Config.fromfile(str(CONFIGS / FAMILIES[family]))
    assert detector_family(cfg) == family
    cfg.model.backbone.pop('init_cfg', None)
    classes = ('a', 'b', 'c')
    adapt(cfg, classes=classes, train_ann='t.json', val_ann='v.json', img_root='imgs/',
          img_size=320, epochs=20, batch_size=3)
    assert _built_num_classes(cfg) == [3] * len(_built_num_classes(cfg))
    for split in ('train', 'val', 'test'):
        ds = cfg[f'{split}_dataloader'].dataset
        assert tuple(ds.metainfo.classes) == classes and ds.data_prefix.img == 'imgs/'
        assert ds.ann_file == ('t.json' if split == 'train' else 'v.json')
    assert cfg.val_evaluator.ann_file == cfg.test_evaluator.ann_file == 'v.json'
    sizes = _sized([cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader,
                    cfg.get('custom_hooks', [])])
    assert sizes
    for kind, key, value in sizes:
        flat = [v for s in value for v in (s if isinstance(s, (list, tuple)) else [s])]
        if family == 'dino' and kind != 'Resize':
            assert max(flat) <= 320 * 768 // 640, (kind, key, value)  # multi-scale, halved
        else:
            assert flat == [320, 320], (kind, key, value)
    assert cfg.train_cfg.max_epochs == 20 and cfg.train_dataloader.batch_size == 3
    if family == 'yolo':
        assert cfg.custom_hooks[1].switch_epoch == 10  # the recipe's last 10 epochs
        assert cfg.default_hooks.param_scheduler.max_epochs == 20
        affine = [t for t in cfg.train_dataloader.dataset.pipeline
                  if t['type'] == 'YOLOv5RandomAffine']
        assert affine[0]['border'] == (-160, -160)
    else:
        step = [s for s in cfg.param_scheduler if s['type'] == 'MultiStepLR'][0]
        assert step['end'] == 20 and all(m < 20 for m in step['milestones'])
    assert cfg.adapter_options.img_size == 320


@pytest.mark.integration
def test_train_py_options_are_in_the_dumped_config(tmp_path):
    """tools/train.py --dataset / --img-size / --epochs reach the config the run dumps."""
    code = ('import sys; sys.argv = sys.argv[1:]; import argparse;'
            'from agssp.engine import add_adapter_args, add_runner_args, adapt_from_args,'
            ' load_config;'
            'p = add_adapter_args(add_runner_args(argparse.ArgumentParser()));'
            'a = p.parse_args(); c = adapt_from_args(load_config(a.config), a);'
            f'c.dump({str(tmp_path / "dumped.py")!r})')
    subprocess.run([sys.executable, '-c', code, 'x', str(CONFIGS / FAMILIES['yolo']),
                    '--dataset', 'magnetic_tile', '--img-size', '256', '--epochs', '5'],
                   check=True, cwd=REPO, capture_output=True)
    dumped = Config.fromfile(str(tmp_path / 'dumped.py'))
    assert dumped.adapter_options == dict(dataset='magnetic_tile', img_size=256, epochs=5)
    assert dumped.finetune_data.name == 'magnetic_tile'
    assert dumped.work_dir.endswith('/magnetic_tile')
    assert dumped.model.bbox_head.head_module.num_classes == 5
    assert dumped.custom_hooks[1].switch_epoch == 1  # Mosaic closed for all but epoch 1


def test_classes_alone_reach_every_split_and_the_heads():
    cfg = adapt(Config.fromfile(str(CONFIGS / FAMILIES['faster_rcnn'])), classes=['x', 'y'])
    for split in ('train', 'val', 'test'):
        assert tuple(cfg[f'{split}_dataloader'].dataset.metainfo.classes) == ('x', 'y')
    assert cfg.model.roi_head.bbox_head.num_classes == 2
    assert cfg.val_evaluator.ann_file == cfg.finetune_data.val_ann_file  # files unchanged


def test_yolo_validation_tail_interval():
    cfg = Config.fromfile(str(REPO / 'configs' / 'finetune' / 'yolo' /
                              'yolov8_s_cspdarknet_baseline.py'))
    set_epochs(cfg, 50, close_mosaic_epochs=5, val_interval=10)  # mmyolo's tail: every epoch
    assert validation_epochs(cfg.train_cfg) == [10, 20, 30, 40, 44, 45, 46, 47, 48, 49, 50]
    set_epochs(cfg, 50, close_mosaic_epochs=5, val_interval=10, val_tail_interval=5)
    assert validation_epochs(cfg.train_cfg) == [10, 20, 30, 40, 45, 50]
