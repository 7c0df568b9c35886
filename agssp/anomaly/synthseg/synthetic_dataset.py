"""SynthSeg's training data as a dataset: item ``i`` is the synthetic-defect batch of iteration
``i`` (images, flips, defects), a function of ``(seed, i)`` only.

One item is one whole batch, so a run draws the same batches as every other run with the same
seed, whatever the loader does; the loader takes one item per step (``batch_size=1``,
:func:`one_batch_per_item`). The dataset has ``iterations`` items per process: with several
processes each one trains on distinct batches.
"""
from typing import Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dist import get_world_size
from mmengine.registry import DATASETS
from torch.utils.data import Dataset

from agssp.anomaly.synthseg.model import standardised_grey
from agssp.anomaly.synthseg.synthetic import SyntheticDefects


def synthetic_batch(images: np.ndarray, iteration: int, seed: int, batch_size: int,
                    defects: SyntheticDefects,
                    out_stride: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Network input (B, 1, H, W) and soft target (B, 1, H/s, W/s) of one iteration."""
    rng = np.random.default_rng([seed, iteration])
    picks = rng.choice(len(images), batch_size, replace=len(images) < batch_size)
    inputs, masks = [], []
    for index in picks:
        image = images[index].astype(np.float32)
        if rng.random() < 0.5:
            image = image[:, ::-1]
        if rng.random() < 0.5:
            image = image[::-1]
        changed, mask = defects(np.ascontiguousarray(image), rng, images)
        inputs.append(changed)
        masks.append(mask)
    x = standardised_grey(torch.from_numpy(np.stack(inputs))[:, None])
    target = F.avg_pool2d(torch.from_numpy(np.stack(masks)).float()[:, None], out_stride)
    return x, target


def one_batch_per_item(items: list) -> dict:
    """Collate function of :class:`SyntheticDefectDataset`: its items are batches already."""
    if len(items) != 1:
        raise ValueError(f'SyntheticDefectDataset items are whole batches: load them with '
                         f'batch_size=1, got {len(items)} items')
    return items[0]


@DATASETS.register_module()
class SyntheticDefectDataset(Dataset):
    """Synthetic-defect batches drawn from grey uint8 ``images`` (N, H, W).

    Args:
        images: the training pool; defects are pasted into (and from) these images.
        iterations: items per process (the training length).
        batch_size: images per item.
        seed: with the item index, the only source of randomness.
        out_stride: the network's output stride (the target's resolution).
        synthetic: keyword arguments of :class:`SyntheticDefects`.
    """

    def __init__(self, images: np.ndarray, iterations: int, batch_size: int, seed: int = 0,
                 out_stride: int = 4, synthetic: Optional[dict] = None):
        if images.ndim != 3 or images.dtype != np.uint8 or not len(images):
            raise ValueError(f'images must be a non-empty uint8 array (N, H, W), got '
                             f'{images.dtype} {images.shape}')
        self.images = images
        self.iterations, self.batch_size = int(iterations), int(batch_size)
        self.seed, self.out_stride = int(seed), int(out_stride)
        self.defects = SyntheticDefects(**dict(synthetic or {}))

    def __len__(self) -> int:
        return self.iterations * get_world_size()

    def __getitem__(self, index: int) -> dict:
        x, target = synthetic_batch(self.images, int(index), self.seed, self.batch_size,
                                    self.defects, self.out_stride)
        return dict(inputs=x, targets=target)
