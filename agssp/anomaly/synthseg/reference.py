"""Neighbour reference: each map less the typical map of the pool images that look like it.

A pool can mix sources (two cameras, two lines): the memories fit the majority, and a minority
source's images then score high everywhere. Taking each image's own median off its map puts
them on one level but also removes a raise that is the defect itself (Magnetic Tile). Here the
reference of an image is the per-pixel median map of its ``k`` nearest pool images, by a
thumbnail of the standardised grey image (about :data:`THUMB_CELLS` cell means at the image's
aspect, each dimension standardised over the pool): what images like it score at each place
is taken off, what is its own stays.

The pool's thumbnails and maps (maps as float16; at most ``max_images`` images, evenly spaced)
are kept as buffers, so they travel in the checkpoint. An image scored against the pool it was
fitted on finds itself at (almost) zero distance: a pool entry closer than
:data:`SELF_FRACTION` of the median distance between distinct pool images (at least
:data:`MIN_SELF_RADIUS`) is taken for the image itself, or an exact copy of it, and is not
used. The median is over the neighbours left; an image with none left keeps its map.
"""
import math
from typing import Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

THUMB_CELLS = 128
SELF_FRACTION = 0.05
MIN_SELF_RADIUS = 1e-3
FLOAT16_MAX = 65504.0


def thumbnail_grid(input_size) -> Tuple[int, int]:
    """(rows, columns) of about :data:`THUMB_CELLS` cells at the aspect of ``input_size``."""
    h, w = int(input_size[0]), int(input_size[1])
    rows = max(1, min(h, round(math.sqrt(THUMB_CELLS * h / w))))
    return rows, max(1, min(w, round(THUMB_CELLS / rows)))


class NeighbourReference(nn.Module):
    """Per-pixel median map of each image's ``k`` nearest pool images, taken off its map.

    Args:
        input_size: (H, W) of the model input (sets the thumbnail grid).
        k: neighbours per image (at most the pool's size less one).
        max_images: pool images kept, evenly spaced.

    A median of an even number of maps is the mean of the two middle values.
    """

    def __init__(self, input_size, k: int = 32, max_images: int = 2048):
        super().__init__()
        if k < 1 or max_images < 2:
            raise ValueError(f'need k >= 1 and max_images >= 2, got {k}, {max_images}')
        self.k, self.max_images = int(k), int(max_images)
        self.grid = thumbnail_grid(input_size)
        cells = self.grid[0] * self.grid[1]
        self.register_buffer('thumb_mean', torch.zeros(cells))
        self.register_buffer('thumb_scale', torch.ones(cells))
        self.register_buffer('thumbs', torch.zeros(0, cells))
        self.register_buffer('maps', torch.zeros(0, 1, 1, dtype=torch.float16))
        self.register_buffer('self_radius', torch.zeros(()))
        self._register_load_state_dict_pre_hook(self._adopt_pool_size)

    def _adopt_pool_size(self, state_dict, prefix, *args):
        """Before loading: take the checkpoint's pool size and map shape."""
        for key in ('thumbs', 'maps'):
            saved = state_dict.get(prefix + key)
            if saved is not None:
                setattr(self, key, torch.empty_like(saved, device=getattr(self, key).device))

    @property
    def fitted(self) -> bool:
        return len(self.thumbs) > 1

    def thumbnail(self, x: torch.Tensor) -> torch.Tensor:
        """Standardised grey images (B, 1, H, W) -> thumbnails (B, cells)."""
        return F.adaptive_avg_pool2d(x.float(), self.grid).flatten(1)

    def _standardise(self, thumbs: torch.Tensor) -> torch.Tensor:
        return (thumbs - self.thumb_mean) / self.thumb_scale

    def _distances(self, thumbs: torch.Tensor) -> torch.Tensor:
        """Distances (B, pool) of standardised thumbnails to the pool's, computed directly
        (the matrix-product shortcut leaves a self-distance of about 1e-2)."""
        return torch.cdist(thumbs, self.thumbs, compute_mode='donot_use_mm_for_euclid_dist')

    @torch.no_grad()
    def fit(self, thumbs: torch.Tensor, maps: torch.Tensor) -> None:
        """Keep the pool: thumbnails (N, cells) and maps (N, h, w) of its images."""
        n = len(thumbs)
        if n < 2 or len(maps) != n:
            raise ValueError(f'need at least two images with a map each, got {n} and '
                             f'{len(maps)}')
        keep = torch.from_numpy(np.unique(np.linspace(0, n - 1, min(n, self.max_images))
                                          .round().astype(np.int64)))
        thumbs, maps = thumbs[keep].float(), maps[keep]
        self.thumb_mean = thumbs.mean(0)
        self.thumb_scale = thumbs.std(0).clamp(min=1e-6)
        self.thumbs = self._standardise(thumbs)
        self.maps = maps.float().clamp(-FLOAT16_MAX, FLOAT16_MAX).to(torch.float16)
        dist = self._distances(self.thumbs)
        dist.fill_diagonal_(float('inf'))
        distinct = dist[dist > 0]
        typical = distinct.median() if len(distinct) else dist.new_zeros(())
        self.self_radius = (SELF_FRACTION * typical).clamp(min=MIN_SELF_RADIUS)

    def forward(self, thumbs: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
        """Maps (B, h, w) less the median map of each image's neighbours."""
        if not self.fitted:
            raise RuntimeError('NeighbourReference is not fitted: call fit() or load a '
                               'checkpoint')
        if tuple(maps.shape[-2:]) != tuple(self.maps.shape[-2:]):
            raise ValueError(f'map size {tuple(maps.shape[-2:])} != the pool maps\' '
                             f'{tuple(self.maps.shape[-2:])}')
        dist = self._distances(self._standardise(thumbs.float()))
        dist = dist.masked_fill(dist <= self.self_radius, float('inf'))
        k = min(self.k, len(self.thumbs) - 1)
        near, nearest = dist.topk(k, dim=1, largest=False)                  # (B, k)
        neighbours = self.maps[nearest].float()                             # (B, k, h, w)
        neighbours[torch.isinf(near)] = float('nan')                        # itself, copies
        reference = neighbours.nanquantile(0.5, dim=1).nan_to_num(0.0)
        return maps - reference
