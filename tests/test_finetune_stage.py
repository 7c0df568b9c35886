"""The pipeline's fine-tuning stage: the validation split picks, the test split is scored once;
validation in batches predicts what one image at a time does."""
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import Runner

from agssp.core.coco import CocoWriter
from agssp.engine.detector_adapter import validation_epochs
from agssp.pipeline.agssp_pipeline import AgsspPipeline
from agssp.pipeline.config_edit import dump_stage_config
from agssp.pipeline.splits import held_out_split
from agssp.pipeline.training import train

REPO = Path(__file__).resolve().parents[1]


def _uneven_coco(root, sizes):
    """Images of different sizes (so letterboxing pads each differently), one box each."""
    rng = np.random.default_rng(0)
    (root / 'images').mkdir(parents=True)
    writer = CocoWriter(['dent', 'scratch'])
    for i, (w, h) in enumerate(sizes):
        img = rng.integers(60, 160, size=(h, w, 3), dtype=np.uint8)
        img[h // 4:h // 2, w // 4:w // 2] = 240
        cv2.imwrite(str(root / 'images' / f'img{i}.png'), img)
        image_id = writer.add_image(f'img{i}.png', h, w)
        writer.add_box(image_id, ('dent', 'scratch')[i % 2], w // 4, h // 4, w // 2, h // 2)
    return writer.dump(root / 'ann.json')


def _finetune_cfg(tmp_path, **stage):
    ann = _uneven_coco(tmp_path, [(80, 48), (64, 64), (40, 96), (72, 56)])
    info = dict(train_ann=str(ann), val_ann=str(ann), classes=['dent', 'scratch'],
                train_img_dir=str(tmp_path / 'images') + '/',
                val_img_dir=str(tmp_path / 'images') + '/')
    ft = dict(config='configs/finetune/yolo/yolov8_s_cspdarknet_baseline.py', img_scale=(64, 64),
              epochs=2, close_mosaic_epochs=1, val_interval=1, num_workers=0, **stage)
    pipeline = AgsspPipeline(Config(dict(finetune=ft)), tmp_path)
    return pipeline.finetune_config(info, ft, tmp_path / 'run', 0, None)


def _predictions(cfg, model, batch_size):
    loader_cfg = dict(cfg.val_dataloader, batch_size=batch_size, num_workers=0,
                      persistent_workers=False)
    loader = Runner.build_dataloader(loader_cfg)
    out = {}
    with torch.no_grad():
        for batch in loader:
            for sample in model.val_step(batch):
                order = sample.pred_instances.scores.argsort(descending=True)[:50]
                out[sample.img_path] = (sample.pred_instances.bboxes[order],
                                        sample.pred_instances.scores[order])
    return out


def test_validation_picks_the_checkpoint_and_the_test_split_is_only_tested(tmp_path):
    files = {k: _uneven_coco(tmp_path / k, [(64, 64)] * 2) for k in ('train', 'val', 'test')}
    info = dict(train_ann=str(files['train']), val_ann=str(files['val']),
                test_ann=str(files['test']), classes=['dent', 'scratch'],
                train_img_dir='train/', val_img_dir='val/', test_img_dir='test/')
    ft = dict(config='configs/finetune/yolo/yolov8_s_cspdarknet_baseline.py', img_scale=(64, 64),
              epochs=2, batch_size=2)
    cfg = AgsspPipeline(Config(dict(finetune=ft)), tmp_path).finetune_config(
        info, ft, tmp_path / 'run', 0, None)
    for split in ('train', 'val', 'test'):
        dataset = cfg[f'{split}_dataloader'].dataset
        assert (dataset.ann_file, dataset.data_prefix.img) == (str(files[split]), f'{split}/')
    assert cfg.val_evaluator.ann_file == str(files['val'])
    assert cfg.test_evaluator.ann_file == str(files['test'])
    assert cfg.default_hooks.checkpoint.save_best.startswith('coco/')  # chosen on validation
    assert cfg.test_evaluator.outfile_prefix == str(tmp_path / 'run' / 'predictions')
    assert 'outfile_prefix' not in cfg.val_evaluator
    assert held_out_split(dict(val_ann='v.json', val_img_dir='v/')) == ('v.json', 'v/')


def test_validation_batch_follows_training_batch_unless_set(tmp_path):
    cfg = _finetune_cfg(tmp_path / 'a', batch_size=4)
    assert cfg.val_dataloader.batch_size == cfg.test_dataloader.batch_size == 4
    cfg = _finetune_cfg(tmp_path / 'b', batch_size=4, val_batch_size=1)
    assert cfg.val_dataloader.batch_size == cfg.test_dataloader.batch_size == 1


def test_the_tail_validates_as_it_begins_and_ends_unless_told(tmp_path):
    def epochs(folder, **stage):
        ft = dict(config='configs/finetune/yolo/yolov8_s_cspdarknet_baseline.py', epochs=50,
                  close_mosaic_epochs=5, val_interval=10, **stage)
        cfg = Config.fromfile(str(REPO / ft['config']))
        AgsspPipeline(Config(dict(finetune=ft)), tmp_path / folder)._apply_schedule(cfg, ft)
        return validation_epochs(cfg.train_cfg)

    assert epochs('default') == [10, 20, 30, 40, 45, 50]
    assert epochs('mmyolo', val_tail_interval=1) == [10, 20, 30, 40, 44, 45, 46, 47, 48, 49, 50]


def test_batched_validation_predicts_what_single_images_do(tmp_path):
    cfg = _finetune_cfg(tmp_path, batch_size=4)
    init_default_scope(cfg.default_scope)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    single, batched = _predictions(cfg, model, 1), _predictions(cfg, model, 4)
    assert sorted(single) == sorted(batched) and len(single) == 4
    for path, (boxes, scores) in single.items():
        assert len(scores) > 0, f'no predictions for {path}: the check would be vacuous'
        torch.testing.assert_close(batched[path][1], scores, atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(batched[path][0], boxes, atol=1e-2, rtol=1e-4)


def test_each_arm_starts_from_its_own_stage_and_reaches_the_fine_tuning_config(tmp_path):
    pipeline = AgsspPipeline(Config(dict(finetune=dict(
        pretrained=dict(checkpoint='imagenet.pth', prefix='backbone.')))), tmp_path)
    for stage in ('agdp', 'random_boxes'):
        pipeline.stage_dir(stage).mkdir(parents=True)
        (pipeline.stage_dir(stage) / 'last_checkpoint').write_text(f'{stage}/epoch_3.pth\n')
    inits = {arm: pipeline.arm_init(arm) for arm in
             ('scratch', 'cls', 'agbp', 'agssp', 'random_boxes', 'pretrained')}
    assert inits['scratch'] == {}
    assert inits['agssp'] == dict(load_from='agdp/epoch_3.pth')
    assert inits['random_boxes'] == dict(load_from='random_boxes/epoch_3.pth')
    assert inits['cls']['backbone'].endswith('07_cls_pretrain/backbone.pth')
    assert inits['agbp']['backbone'].endswith('04_agbp/backbone.pth')
    assert inits['pretrained'] == dict(backbone='imagenet.pth', prefix='backbone.')
    for arm in ('agbp', 'pretrained'):
        ft = dict(config='configs/finetune/yolo/yolov8_s_cspdarknet_baseline.py')
        cfg = pipeline.finetune_config(
            dict(train_ann='t.json', val_ann='v.json', classes=['dent'], train_img_dir='t/',
                 val_img_dir='v/'), ft, tmp_path / arm / 'run', 0, inits[arm])
        assert cfg.load_from is None
        assert cfg.model.backbone.init_cfg == dict(type='Pretrained',
                                                   checkpoint=inits[arm]['backbone'],
                                                   prefix='backbone.')


@pytest.mark.integration
def test_testing_in_the_training_process_gives_what_test_py_gives(tmp_path):
    files = {k: _uneven_coco(tmp_path / k, [(64, 64), (80, 48)]) for k in ('train', 'val', 'test')}
    info = dict(train_ann=str(files['train']), val_ann=str(files['val']),
                test_ann=str(files['test']), classes=['dent', 'scratch'],
                train_img_dir=str(tmp_path / 'train' / 'images') + '/',
                val_img_dir=str(tmp_path / 'val' / 'images') + '/',
                test_img_dir=str(tmp_path / 'test' / 'images') + '/')
    ft = dict(config='configs/finetune/yolo/yolov8_s_cspdarknet_baseline.py', img_scale=(64, 64),
              epochs=1, val_interval=1, batch_size=2, num_workers=0)
    run = tmp_path / 'run'
    cfg = AgsspPipeline(Config(dict(finetune=ft)), tmp_path).finetune_config(info, ft, run, 0, None)
    config = dump_stage_config(cfg, run / 'config.py')
    checkpoint, metrics = train(config, run, log=lambda line: None, best=True,
                                test_ann=files['test'])
    assert checkpoint.name.startswith('best_') and 'mAP50' in metrics['overall']
    in_training = json.loads((run / 'predictions.bbox.json').read_text())
    subprocess.run([sys.executable, str(REPO / 'tools' / 'test.py'), str(config), str(checkpoint),
                    '--work-dir', str(tmp_path / 'test_py'), '--cfg-options',
                    f'test_evaluator.outfile_prefix={tmp_path / "test_py" / "predictions"}'],
                   check=True, capture_output=True, cwd=REPO)
    by_test_py = json.loads((tmp_path / 'test_py' / 'predictions.bbox.json').read_text())
    assert len(in_training) == len(by_test_py) > 0
    for a, b in zip(in_training, by_test_py):
        assert (a['image_id'], a['category_id']) == (b['image_id'], b['category_id'])
        assert np.allclose(a['bbox'], b['bbox'], atol=1e-3) and abs(a['score'] - b['score']) < 1e-5
