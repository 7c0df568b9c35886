"""AGBP settings shared by every recipe: one number of sources, initial weights named by the
pipeline reaching the backbone, a warning for frozen random stages, and AMP for every recipe."""
import argparse
import inspect
import logging
from pathlib import Path

import pytest
import torch
from agbp_helpers import CONFIG_DIR, tiny_config, write_tiny_agbp_data
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import Runner

from agssp.engine import enable_amp, frozen_on_random_weights
from agssp.engine.runner_setup import prepare_config
from agssp.pipeline.agbp_settings import set_init_checkpoint, set_num_sources

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
AGBP_DIR_CONFIGS = sorted(CONFIG_DIR.glob('*.py'))
GPU_RECIPES = (AGBP_DIR_CONFIGS + sorted((REPO / 'configs' / 'pretrain_agdp').glob('*.py'))
               + sorted((REPO / 'configs' / 'finetune').glob('*/*.py')))
SHORT_RUN = 'agbp_cspdarknet-yolov8s_cpu-short_mt-neu.py'


def _num_classes(cfg):
    """(dataset sources, head classes or None, preprocessor classes or None) of a config."""
    head = cfg.model.get('head') or {}
    preprocessor = cfg.model.get('data_preprocessor') or cfg.get('data_preprocessor') or {}
    return (cfg.train_dataloader.dataset.num_sources, head.get('num_classes'),
            preprocessor.get('num_classes'))


@pytest.mark.parametrize('path', AGBP_DIR_CONFIGS, ids=lambda p: p.name)
def test_one_number_of_sources_in_config_and_after_the_pipeline_sets_it(path):
    cfg = Config.fromfile(str(path))
    for expected in (cfg.train_dataloader.dataset.num_sources, 5):
        set_num_sources(cfg, expected)
        sources, head, preprocessor = _num_classes(cfg)
        assert sources == expected
        assert head in (None, expected) and preprocessor in (None, expected)
        assert (head is None) == (preprocessor is None), 'head and preprocessor disagree'


def test_frozen_random_stages_are_found_and_named_weights_silence_it():
    cfg = Config.fromfile(str(CONFIG_DIR / 'cls_resnet50_8xb128-200e_metal.py'))
    assert 'frozen_stages=2' in frozen_on_random_weights(cfg)
    for key, value in (('load_from', 'x.pth'), ('resume', True)):
        assert frozen_on_random_weights(Config(dict(cfg.to_dict(), **{key: value}))) is None
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint='x.pth')
    assert frozen_on_random_weights(cfg) is None
    assert frozen_on_random_weights(Config.fromfile(str(CONFIG_DIR / SHORT_RUN))) is None


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def _args(config, **kw):
    settings = dict(config=str(config), launcher='none', work_dir=None, amp=False,
                    auto_scale_lr=False, resume=None)
    return argparse.Namespace(**dict(settings, **kw))


def test_train_tool_warns_when_early_stages_are_frozen_on_random_weights():
    logger, handler = MMLogger.get_current_instance(), _Records()
    logger.addHandler(handler)
    try:
        path = CONFIG_DIR / 'agbp_swin-base-w7_8xb80-200e_metal-224px.py'
        prepare_config(_args(path), Config.fromfile(str(path)))
        path = CONFIG_DIR / SHORT_RUN
        prepare_config(_args(path), Config.fromfile(str(path)))
    finally:
        logger.removeHandler(handler)
    messages = [r.getMessage() for r in handler.records if r.levelno == logging.WARNING]
    assert len(messages) == 1 and 'frozen_stages=1' in messages[0], messages


def test_swin_b_classification_freezes_patch_embedding_and_stages_0_1():
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(str(CONFIG_DIR / 'agbp_swin-base-w7_8xb80-200e_metal-224px.py'))
    backbone = MODELS.build(dict(cfg.model.backbone, arch='tiny'))
    backbone.train()
    for module, frozen in ((backbone.patch_embed, True), (backbone.stages[0], True),
                           (backbone.stages[1], True), (backbone.stages[2], False)):
        assert all(p.requires_grad != frozen for p in module.parameters())


def test_init_checkpoint_reaches_the_backbone_and_freezes_the_recipe_stages(tmp_path):
    img_root, map_root = write_tiny_agbp_data(tmp_path / 'data')
    init_default_scope('mmpretrain')
    source_cfg = tiny_config(SHORT_RUN, img_root, map_root)
    source_cfg.model.head.num_classes = 7  # another head: skipped, the backbone still loads
    torch.manual_seed(123)
    source = MODELS.build(source_cfg.model)
    source.init_weights()
    checkpoint = tmp_path / 'imagenet_like.pth'
    torch.save(dict(state_dict=source.state_dict()), checkpoint)

    cfg = tiny_config(SHORT_RUN, img_root, map_root)
    set_init_checkpoint(cfg, checkpoint)
    assert cfg.load_from == str(checkpoint)
    assert cfg.model.backbone.frozen_stages == 2 and frozen_on_random_weights(cfg) is None
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    runner._init_model_weights()
    runner.load_or_resume()
    loaded = runner.model.backbone.state_dict()
    for key, value in source.backbone.state_dict().items():
        assert torch.equal(loaded[key], value), key
    assert runner.model.head.fc.out_features == 2
    with pytest.raises(FileNotFoundError, match='agbp.init_checkpoint'):
        set_init_checkpoint(cfg, tmp_path / 'missing.pth')


def _accepted_keys():
    keys = set()
    for cls in (AmpOptimWrapper, OptimWrapper):
        keys |= set(inspect.signature(cls.__init__).parameters) - {'self', 'kwargs'}
    return keys | {'type', 'constructor', 'paramwise_cfg', '_scope_'}


@pytest.mark.parametrize('path', GPU_RECIPES, ids=lambda p: f'{p.parent.name}/{p.name}')
def test_amp_wraps_every_recipe(path):
    cfg = enable_amp(Config.fromfile(str(path)))
    wrapper = cfg.optim_wrapper
    assert wrapper.type == 'AmpOptimWrapper' and wrapper.loss_scale == 'dynamic'
    assert set(wrapper) <= _accepted_keys(), set(wrapper) - _accepted_keys()
    assert cfg.optim_wrapper.optimizer.lr > 0


@pytest.mark.skipif(torch.cuda.is_available(), reason='the CPU message is for CPU machines')
def test_amp_on_cpu_stops_with_a_message():
    path = CONFIG_DIR / 'agbp_resnet50_8xb128-200e_metal.py'
    with pytest.raises(SystemExit, match='--amp needs a CUDA device.*drop --amp'):
        prepare_config(_args(path, amp=True), Config.fromfile(str(path)))
