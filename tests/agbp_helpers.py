"""Tiny on-disk AGBP data and a one-step training run of an AGBP config (for the AGBP tests)."""
import contextlib
import logging
from pathlib import Path

import cv2
import numpy as np
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DATASETS, FUNCTIONS, MODELS, init_default_scope

import agssp.datasets  # noqa: F401  (registration)
import agssp.models  # noqa: F401  (registration)

CONFIG_DIR = Path(__file__).resolve().parents[1] / 'configs' / 'pretrain_agbp'
SIZE_KEYS = {'RandomResizedCropWithMap': 'scale', 'RandomResizedCrop': 'scale',
             'SimMIMMaskGenerator': 'input_size'}


def write_tiny_agbp_data(root, sources=('mt', 'neu'), per_source=2, hw=(40, 48), seed=0):
    """Images (random grey surfaces) in one folder per source and mirrored float16 maps."""
    rng = np.random.default_rng(seed)
    root = Path(root)
    for source in sources:
        for i in range(per_source):
            rel = Path(source) / 'sub' / f'img{i}.jpg'
            img = rng.integers(60, 200, size=(*hw, 3), dtype=np.uint8)
            (root / 'images' / rel).parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / 'images' / rel), img)
            amap = rng.random((hw[0] // 4, hw[1] // 4)).astype(np.float16)
            (root / 'maps' / rel).parent.mkdir(parents=True, exist_ok=True)
            np.save(root / 'maps' / rel.with_suffix('.npy'), amap)
    return root / 'images', root / 'maps'


@contextlib.contextmanager
def _quiet_init_logs():
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _resize_pipeline(pipeline, size):
    for t in pipeline:
        if t.get('type') in SIZE_KEYS:
            t[SIZE_KEYS[t['type']]] = size
        for nested in t.get('transforms', []) or []:
            _resize_pipeline(nested if isinstance(nested, list) else [nested], size)


def tiny_config(name, img_root, map_root, size=64):
    """An AGBP / baseline config pointed at tiny data and shrunk to ``size`` pixels.

    Swin backbones get ``pad_small_map=True``: at 64 px their later stages are smaller than the
    window, which mmpretrain's Swin only accepts padded.
    """
    cfg = Config.fromfile(str(CONFIG_DIR / name))
    dataset = cfg.train_dataloader.dataset
    dataset.data_prefix.img_path = str(img_root)
    if 'map_path' in dataset.data_prefix:
        dataset.data_prefix.map_path = str(map_root)
    _resize_pipeline(dataset.pipeline, size)
    backbone = cfg.model.backbone
    if 'img_size' in backbone:
        backbone.img_size = size
    if 'Swin' in backbone.type:
        backbone.pad_small_map = True
    return cfg


def one_training_step(cfg, batch_size=2):
    """Build model, dataset and optimizer from ``cfg``; run one train_step; return log vars."""
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    model = MODELS.build(cfg.model)
    with _quiet_init_logs():
        model.init_weights()
    model.train()
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    collate_cfg = cfg.train_dataloader.get('collate_fn', dict(type='pseudo_collate'))
    collate = FUNCTIONS.get(collate_cfg['type']) if collate_cfg else pseudo_collate
    data = collate([dataset[i] for i in range(batch_size)])
    with _quiet_init_logs():
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    return model, model.train_step(data, optim_wrapper)
