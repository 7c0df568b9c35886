"""Every AGBP config and its baseline twin builds and runs one training step on tiny inputs;
the twins share schedule, batch and data, so the comparison isolates the distillation."""
from pathlib import Path

import pytest
import torch
from agbp_helpers import CONFIG_DIR, one_training_step, tiny_config, write_tiny_agbp_data
from mmengine.config import Config

torch.set_num_threads(1)

CONFIGS = sorted(p.name for p in CONFIG_DIR.glob('*.py'))
RECIPES = ('cspdarknet-yolov8s_8xb128-200e_metal', 'resnet50_8xb128-200e_metal',
           'swin-base-w7_8xb80-200e_metal-224px', 'simmim_swin-base-w6_8xb56-500e_metal-192px',
           'mocov3_resnet50_8xb128-200e_metal')


@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory):
    return write_tiny_agbp_data(tmp_path_factory.mktemp('agbp'))


def _twins(recipe):
    """The AGBP config of a recipe and its baseline (classification-only or the plain method)."""
    baseline = f'cls_{recipe}.py' if f'cls_{recipe}.py' in CONFIGS else f'{recipe}.py'
    return f'agbp_{recipe}.py', baseline


def test_every_recipe_has_an_agbp_config_and_a_baseline_twin():
    for recipe in RECIPES:
        assert set(_twins(recipe)) <= set(CONFIGS), recipe


@pytest.mark.integration
@pytest.mark.parametrize('name', CONFIGS)
def test_config_runs_one_training_step(name, tiny_data):
    cfg = tiny_config(name, *tiny_data)
    model, log_vars = one_training_step(cfg)
    assert torch.isfinite(log_vars['loss'])
    if name.startswith('agbp_'):
        assert torch.isfinite(log_vars['loss_distill']) and log_vars['loss_distill'] > 0
        assert any(key.startswith('distill_cos_out') for key in log_vars)
    else:
        assert 'loss_distill' not in log_vars


@pytest.mark.parametrize('recipe', RECIPES)
def test_twins_share_schedule_batch_and_data(recipe):
    agbp, baseline = (Config.fromfile(str(CONFIG_DIR / name)) for name in _twins(recipe))
    for key in ('auto_scale_lr', 'train_cfg', 'param_scheduler', 'data_preprocessor'):
        assert agbp.get(key) == baseline.get(key), key
    assert agbp.optim_wrapper.optimizer == baseline.optim_wrapper.optimizer
    assert agbp.train_dataloader.batch_size == baseline.train_dataloader.batch_size
    assert 8 * agbp.train_dataloader.batch_size == agbp.auto_scale_lr.base_batch_size


@pytest.mark.integration
def test_frozen_stages_stay_frozen_and_distilled_stages_learn(tiny_data):
    cfg = tiny_config('agbp_cspdarknet-yolov8s_8xb128-200e_metal.py', *tiny_data)
    cfg.optim_wrapper.optimizer.lr = 0.1
    torch.manual_seed(0)
    model, _ = one_training_step(cfg)
    backbone = model.backbone
    assert not any(p.requires_grad for m in (backbone.stem, backbone.stage1, backbone.stage2)
                   for p in m.parameters())
    assert all(p.requires_grad for p in backbone.stage4.parameters())
    assert model.distill_head.in_indices == (0, 1) and backbone.out_indices == (3, 4)


def test_short_run_config_is_small_and_holds_images_out():
    cfg = Config.fromfile(str(CONFIG_DIR / 'agbp_cspdarknet-yolov8s_cpu-short_mt-neu.py'))
    dataset = cfg.train_dataloader.dataset
    assert dataset.split == 'train' and dataset.heldout_fraction > 0
    assert cfg.train_cfg.max_iters <= 1000
    crop = [t for t in dataset.pipeline if t['type'] == 'RandomResizedCropWithMap'][0]
    assert crop['scale'] <= 128
    assert Path(cfg.filename).name in CONFIGS
