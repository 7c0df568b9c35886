"""Tiny on-disk detection data and CPU-sized versions of the AGDP / fine-tuning configs."""
import contextlib
import logging
from pathlib import Path

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DATASETS, FUNCTIONS, MODELS, init_default_scope

import agssp.datasets  # noqa: F401  (registration)
import agssp.datasets.strict_coco  # noqa: F401  (registration)
import agssp.pseudo_boxes.dataset  # noqa: F401  (registration)
from agssp.core.coco import CocoWriter
from agssp.engine import adapt

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / 'configs'


def _defect_image(rng, size, box):
    img = rng.integers(90, 140, size=(size, size, 3), dtype=np.uint8)
    x1, y1, x2, y2 = box
    img[y1:y2, x1:x2] = 230
    return img


def write_tiny_pseudo_box_data(root, n=2, size=64, seed=0):
    """``n`` grey images with a bright square and anomaly maps (size / 4) peaking on it."""
    rng = np.random.default_rng(seed)
    root = Path(root)
    (root / 'images').mkdir(parents=True, exist_ok=True)
    (root / 'maps').mkdir(parents=True, exist_ok=True)
    for i in range(n):
        box = (size // 4, size // 4, size // 2 + i * 4, size // 2 + i * 4)
        cv2.imwrite(str(root / 'images' / f'img{i}.jpg'), _defect_image(rng, size, box))
        amap = np.zeros((size // 4, size // 4), np.float32)
        amap[box[1] // 4:box[3] // 4, box[0] // 4:box[2] // 4] = 1.0
        np.save(root / 'maps' / f'img{i}.npy', amap)
    return root / 'images', root / 'maps'


def write_tiny_coco(root, classes, n=2, size=64, seed=0):
    """``n`` images with one box each (class ``i % len(classes)``) and their COCO file."""
    rng = np.random.default_rng(seed)
    root = Path(root)
    (root / 'images').mkdir(parents=True, exist_ok=True)
    writer = CocoWriter(classes)
    for i in range(n):
        box = (size // 4, size // 4, size // 2 + i * 4, size // 2 + i * 4)
        cv2.imwrite(str(root / 'images' / f'img{i}.jpg'), _defect_image(rng, size, box))
        image_id = writer.add_image(f'img{i}.jpg', size, size)
        writer.add_box(image_id, classes[i % len(classes)], *box)
    writer.dump(root / 'ann.json')
    return root / 'images', root / 'ann.json'


def _single_process_loader(loader, batch_size):
    loader.update(batch_size=batch_size, num_workers=0, persistent_workers=False)
    loader.pop('pin_memory', None)


def tiny_config(rel_path, size=64, batch_size=1, train_data=None, val_data=None):
    """A config of ``configs/`` at ``size`` px (the adapter's image size), one process,
    optionally on tiny data.

    Args:
        rel_path: config path relative to ``configs/``.
        train_data: dict merged into ``train_dataloader.dataset`` (e.g. img_dir / map_dir).
        val_data: dict merged into the val and test datasets; ``ann_file`` also goes to the
            evaluators.
    """
    path = str(CONFIGS / rel_path)
    cfg = adapt(Config.fromfile(path), img_size=size)
    # Without yapf formatting: the Runner prints / dumps the config text several times.
    cfg = Config(cfg.to_dict(), filename=path, format_python_code=False)
    _single_process_loader(cfg.train_dataloader, batch_size)
    if train_data:
        cfg.train_dataloader.dataset.update(train_data)
    for key in ('val_dataloader', 'test_dataloader'):
        if cfg.get(key):
            _single_process_loader(cfg[key], 1)
            if val_data:
                cfg[key].dataset.update(val_data)
    if val_data:
        for key in ('val_evaluator', 'test_evaluator'):
            if cfg.get(key):
                cfg[key].ann_file = val_data['ann_file']
    cfg.env_cfg = dict(cfg.get('env_cfg', {}), cudnn_benchmark=False,
                       mp_cfg=dict(mp_start_method='fork', opencv_num_threads=1))
    return cfg


@contextlib.contextmanager
def quiet_logs(level=logging.WARNING):
    logger = MMLogger.get_current_instance()
    old = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(old)


def build_detector(cfg, init=True):
    """The config's detector in its default scope (weights initialised by ``init_cfg``)."""
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = MODELS.build(cfg.model)
    if init:
        with quiet_logs(logging.ERROR):
            model.init_weights()
    return model


def one_training_step(cfg, model=None):
    """One ``train_step`` of the config's detector on its own (tiny) train data and pipeline;
    returns ``(model, log_vars)``."""
    model = model or build_detector(cfg)
    model.train()
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    batch_size = cfg.train_dataloader.batch_size
    collate = FUNCTIONS.get((cfg.train_dataloader.get('collate_fn') or
                             dict(type='pseudo_collate'))['type'])
    data = collate([dataset[i % len(dataset)] for i in range(batch_size)])
    with quiet_logs():
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    return model, model.train_step(data, optim_wrapper)


def state_under(model_or_state, prefix):
    """``{key without prefix: tensor}`` of the entries under ``prefix``."""
    state = (model_or_state.state_dict() if isinstance(model_or_state, torch.nn.Module)
             else model_or_state)
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
