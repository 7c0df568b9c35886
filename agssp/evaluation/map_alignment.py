"""How well a backbone's activation maps match the anomaly maps on held-out images.

The measure is the one AGBP optimises: per image and distilled stage, the cosine between the
stage's activation map (:func:`stage_activation`) and the anomaly map resized to that stage
(:func:`resize_target`), through the model's own distillation head and preprocessing.
"""
import copy

import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import FUNCTIONS
from mmpretrain.registry import DATASETS
from tqdm import tqdm

from agssp.core.anomaly_maps import stack_anomaly_maps
from agssp.models.losses import map_cosine


def heldout_dataset_cfg(cfg, img_size: int, split: str = 'heldout') -> dict:
    """The config's training dataset, on ``split``, with a deterministic pipeline: the image
    resized to ``img_size`` square, then its map loaded at that size (bilinear)."""
    dataset = copy.deepcopy(cfg.train_dataloader.dataset)
    dataset.split = split
    dataset.pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(img_size, img_size), keep_ratio=False),
        dict(type='LoadAnomalyMap'),
        dict(type='PackAnomalyInputs'),
    ]
    return dataset


def collate_fn_of(cfg):
    """The collate function the config's training dataloader uses."""
    collate_cfg = cfg.train_dataloader.get('collate_fn') or dict(type='pseudo_collate')
    return FUNCTIONS.get(collate_cfg['type']) or pseudo_collate


@torch.no_grad()
def measure_alignment(model, dataset, collate_fn, batch_size: int = 16, keep_examples: int = 0,
                      progress: bool = False) -> dict:
    """Cosine(activation, anomaly map) per image and distilled stage on ``dataset``.

    Returns ``cosines`` (N, S) numpy, ``stages`` (output indices) and, for ``keep_examples``
    images spread evenly over the dataset, ``examples``: dicts of the packed image (H, W, 3
    uint8, BGR), its map (H, W), each stage's activation (h, w) and cosine.
    """
    if isinstance(dataset, dict):
        dataset = DATASETS.build(dataset)
    model.eval()
    head = model.distill_head
    cosines, examples = [], []
    example_ids = set(np.linspace(0, len(dataset) - 1, keep_examples).round().astype(int).tolist()
                      if keep_examples else [])
    starts = range(0, len(dataset), batch_size)
    for start in tqdm(starts, desc='alignment', unit='batch', disable=not progress):
        samples = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
        data = model.data_preprocessor(collate_fn(samples), False)
        inputs, data_samples = data['inputs'], data['data_samples']
        feats = model.distill_features(inputs)
        maps = stack_anomaly_maps(data_samples).to(feats[0].device)
        pairs = head.stage_pairs(feats, maps)
        cosines.append(torch.stack([map_cosine(a, t) for a, t in pairs], dim=1).cpu())
        for j, sample in enumerate(samples):
            if start + j not in example_ids:
                continue
            examples.append(dict(
                image=sample['inputs'].permute(1, 2, 0).numpy().astype(np.uint8),
                anomaly_map=maps[j, 0].cpu().numpy(),
                activations=[a[j, 0].cpu().numpy() for a, _ in pairs],
                cosines=[float(map_cosine(a[j:j + 1], t[j:j + 1])) for a, t in pairs]))
    num_outputs = len(feats)
    return dict(cosines=torch.cat(cosines).numpy(),
                stages=[i % num_outputs for i in head.in_indices],
                examples=examples)


def build_model_for_alignment(cfg, checkpoint=None, seed: int = 0):
    """The config's model, freshly initialised with ``seed`` (``checkpoint=None``: the state
    before training) or with a training checkpoint's weights."""
    from mmengine.registry import MODELS, init_default_scope
    from mmengine.runner import load_checkpoint, set_random_seed

    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    set_random_seed(seed)
    model = MODELS.build(cfg.model)
    if checkpoint:
        load_checkpoint(model, str(checkpoint), map_location='cpu', strict=True)
    else:
        model.init_weights()
    if not hasattr(model, 'distill_head'):
        raise TypeError(f'{type(model).__name__} has no distillation head: use an AGBP config')
    return model
