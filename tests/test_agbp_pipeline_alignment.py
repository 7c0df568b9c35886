"""Every shipped AGBP train pipeline keeps image and anomaly map aligned.

A synthetic grey image with one bright mark and its matching map (1 on the mark; image-sized,
so that the mark's edge is as sharp in both: LoadAnomalyMap's resize has its own tests) go
through each AGBP config's train pipeline under many seeds; the mark must be where the map
says, or gone from both. The baseline twins must run the same image transforms.
"""
import copy
import random
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import TRANSFORMS

import agssp.datasets  # noqa: F401  (registration)
import agssp.models  # noqa: F401  (registration)
from agssp.datasets.transforms import ANOMALY_MAP_FIELD

CONFIG_DIR = Path(__file__).resolve().parents[1] / 'configs' / 'pretrain_agbp'
AGBP_CONFIGS = sorted(p.name for p in CONFIG_DIR.glob('agbp_*.py'))
SEEDS = range(40)
HW = (240, 288)
MARK = (40, 80, 60, 110)  # top, bottom, left, right: off-centre, so flips move it
MAP_ONLY = {'LoadAnomalyMap'}
MAP_VARIANTS = {'PackAnomalyInputs': 'PackInputs', 'MultiViewWithMap': 'MultiView'}


def _write_sample(root: Path):
    img = np.full((*HW, 3), 90, np.uint8)
    top, bottom, left, right = MARK
    img[top:bottom, left:right] = 240
    amap = np.zeros(HW, np.float32)
    amap[top:bottom, left:right] = 1.0
    cv2.imwrite(str(root / 'img.png'), img)
    np.save(root / 'img.npy', amap.astype(np.float16))
    return dict(img_path=str(root / 'img.png'), map_path=str(root / 'img.npy'), gt_label=0,
                sample_idx=0)


def _mark_in_image(img: np.ndarray) -> np.ndarray:
    """Pixels of the mark in a (C, H, W) image: those far from the background's value.

    Photometric transforms change both values but keep the background flat, so the mark is
    whatever differs from the most common value by over half the largest difference.
    """
    grey = img.astype(np.float32).mean(axis=0)
    values, counts = np.unique(np.round(grey), return_counts=True)
    deviation = np.abs(grey - values[counts.argmax()])
    if deviation.max() < 1:
        return np.zeros_like(grey, bool)
    return deviation > 0.5 * deviation.max()


def _centroid(mask: np.ndarray) -> np.ndarray:
    return np.argwhere(mask).mean(axis=0)


def _run_pipeline(pipeline_cfg, sample, seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    results = copy.deepcopy(sample)
    for t in pipeline_cfg:
        results = TRANSFORMS.build(copy.deepcopy(t))(results)
    return results


def check_alignment(packed) -> str:
    """'' when the packed image (the first view) and its map show the mark at the same place
    (centroids within 3 px, overlap IoU >= 0.6) or neither shows it; the failure otherwise."""
    inputs = packed['inputs']
    img = (inputs[0] if isinstance(inputs, list) else inputs).numpy()
    amap = getattr(packed['data_samples'], ANOMALY_MAP_FIELD)[0].numpy()
    if amap.shape != img.shape[1:]:
        return f'map {amap.shape} and image {img.shape[1:]} differ in size'
    in_map, in_img = amap > 0.5, _mark_in_image(img)
    if in_map.sum() < 9 and in_img.sum() < 9:
        return ''  # cropped out of both (or a sliver at the border)
    if in_map.sum() < 9 or in_img.sum() < 9:
        return f'mark in one only: map {in_map.sum()} px, image {in_img.sum()} px'
    shift = np.abs(_centroid(in_map) - _centroid(in_img)).max()
    iou = (in_map & in_img).sum() / (in_map | in_img).sum()
    if shift > 3 or iou < 0.6:
        return f'mark moved: centroid shift {shift:.1f} px, IoU {iou:.2f}'
    return ''


@pytest.fixture(scope='module')
def sample(tmp_path_factory):
    init_default_scope('mmpretrain')
    return _write_sample(tmp_path_factory.mktemp('mark'))


def test_every_shipped_agbp_config_is_covered():
    assert len(AGBP_CONFIGS) >= 6, AGBP_CONFIGS


@pytest.mark.parametrize('name', AGBP_CONFIGS)
def test_pipeline_keeps_image_and_map_aligned(name, sample):
    pipeline = Config.fromfile(str(CONFIG_DIR / name)).train_dataloader.dataset.pipeline
    failures = {seed: check_alignment(_run_pipeline(pipeline, sample, seed)) for seed in SEEDS}
    failures = {seed: why for seed, why in failures.items() if why}
    assert not failures, f'{name}: {failures}'


def _image_transforms(obj):
    """A pipeline (or part of one) as its image transforms: map-only steps dropped, map
    variants named as their upstream transform."""
    if isinstance(obj, (list, tuple)):
        return [_image_transforms(v) for v in obj
                if not (isinstance(v, dict) and v.get('type') in MAP_ONLY)]
    if isinstance(obj, dict):
        out = {k: _image_transforms(v) for k, v in obj.items()}
        if isinstance(out.get('type'), str):
            out['type'] = MAP_VARIANTS.get(out['type'], out['type'].replace('WithMap', ''))
        return out
    return obj


def _baseline_twin(name):
    recipe = name[len('agbp_'):]
    for candidate in (f'cls_{recipe}', recipe):
        if (CONFIG_DIR / candidate).is_file():
            return candidate
    return None


@pytest.mark.parametrize('name', [n for n in AGBP_CONFIGS if _baseline_twin(n)])
def test_baseline_twin_runs_the_same_image_transforms(name):
    agbp = Config.fromfile(str(CONFIG_DIR / name)).train_dataloader.dataset.pipeline
    twin_cfg = Config.fromfile(str(CONFIG_DIR / _baseline_twin(name)))
    twin = twin_cfg.train_dataloader.dataset.pipeline
    assert _image_transforms(agbp) == _image_transforms(twin)


@pytest.mark.parametrize('image_only', [
    dict(type='RandomErasing', erase_prob=1.0, mode='const', min_area_ratio=0.3,
         max_area_ratio=0.6, fill_color=(90, 90, 90)),
    dict(type='RandAugment', policies=[dict(type='Translate', magnitude_range=(0.3, 0.45))],
         num_policies=1, magnitude_level=9, total_level=10),
])
def test_check_catches_image_only_transforms(image_only, sample):
    """The check is not vacuous: an image-only erase or shift misaligns most seeds."""
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnomalyMap'), image_only,
                dict(type='PackAnomalyInputs')]
    failed = sum(bool(check_alignment(_run_pipeline(pipeline, sample, seed))) for seed in SEEDS)
    assert failed >= len(SEEDS) // 4
