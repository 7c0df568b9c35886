"""A Gaussian memory of normal features, per grid cell (aligned images) or shared by all cells.

``positional`` keeps one mean and covariance per cell, as PaDiM does: it suits images that
show the same part at the same place (Magnetic Tile crops), where *where* a texture appears
matters. ``global`` keeps one Gaussian for every cell of every image (unaligned images such as
NEU-DET). The score of a cell is its Mahalanobis distance to the memory.

Unlabelled training pools may hold defects, so the fit is trimmed: after a first estimate the
``trim`` fraction of samples farthest from it (per cell, or overall) is dropped and the Gaussian
is estimated again from the rest.
"""
import math
from typing import Optional, Tuple

import torch
from torch import nn

LAYOUTS = ('positional', 'global')


class GaussianMemory(nn.Module):
    """Mean and precision of normal features; ``forward`` gives Mahalanobis distances.

    Args:
        channels: feature channels C.
        grid: (h, w) of the feature maps (positional layout).
        layout: ``positional`` or ``global``.
        shrinkage: ridge added to each covariance, relative to its mean variance.
        trim: fraction of the farthest samples dropped before the second estimate (0: none).
    """

    def __init__(self, channels: int, grid: Tuple[int, int], layout: str = 'positional',
                 shrinkage: float = 0.01, trim: float = 0.1):
        super().__init__()
        if layout not in LAYOUTS:
            raise ValueError(f'layout must be one of {LAYOUTS}, got {layout!r}')
        if not 0 <= trim < 1:
            raise ValueError(f'trim must be in [0, 1), got {trim}')
        self.layout, self.grid = layout, (int(grid[0]), int(grid[1]))
        self.shrinkage, self.trim = float(shrinkage), float(trim)
        cells = self.grid[0] * self.grid[1] if layout == 'positional' else 1
        self.register_buffer('mean', torch.zeros(cells, channels))
        self.register_buffer('precision', torch.eye(channels).repeat(cells, 1, 1))
        self.register_buffer('fitted', torch.zeros((), dtype=torch.bool))

    def _samples(self, feats: torch.Tensor) -> torch.Tensor:
        """(N, C, h, w) -> (cells, samples, C)."""
        if tuple(feats.shape[-2:]) != self.grid:
            raise ValueError(f'feature grid {tuple(feats.shape[-2:])} != memory grid {self.grid}')
        n, c = feats.shape[:2]
        per_cell = feats.reshape(n, c, -1).permute(2, 0, 1)          # (h*w, N, C)
        return per_cell if self.layout == 'positional' else per_cell.reshape(1, -1, c)

    def _estimate(self, samples: torch.Tensor, keep: Optional[torch.Tensor]):
        """Mean and precision per cell from (cells, S, C) samples, weighted by ``keep``."""
        weight = (torch.ones(samples.shape[:2], device=samples.device) if keep is None
                  else keep.float())
        total = weight.sum(1, keepdim=True).clamp(min=2)
        mean = (samples * weight[..., None]).sum(1) / total
        centred = (samples - mean[:, None]) * weight[..., None].sqrt()
        cov = centred.transpose(1, 2) @ centred / (total[..., None] - 1)
        ridge = self.shrinkage * cov.diagonal(dim1=1, dim2=2).mean(1).clamp(min=1e-6)
        cov = cov + ridge[:, None, None] * torch.eye(cov.shape[-1], device=cov.device)
        return mean, torch.linalg.inv(cov.double()).float()

    @staticmethod
    def _distance(samples, mean, precision) -> torch.Tensor:
        centred = samples - mean[:, None]                       # (cells, S, C)
        return (torch.bmm(centred, precision) * centred).sum(-1).clamp(min=0).sqrt()

    @torch.no_grad()
    def fit(self, feats: torch.Tensor) -> None:
        """Estimate the memory from normal (or mostly normal) features (N, C, h, w)."""
        samples = self._samples(feats.float())
        if samples.shape[1] < 2:
            raise ValueError('the Gaussian memory needs at least two samples per cell')
        mean, precision = self._estimate(samples, None)
        if self.trim > 0:
            dist = self._distance(samples, mean, precision)
            rank = max(1, math.ceil((1 - self.trim) * dist.shape[1]))
            cutoff = dist.kthvalue(rank, dim=1, keepdim=True).values
            mean, precision = self._estimate(samples, dist <= cutoff)
        self.mean.copy_(mean.float())
        self.precision.copy_(precision.float())
        self.fitted.fill_(True)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """Mahalanobis distance of every cell (B, C, h, w) -> (B, h, w)."""
        if not bool(self.fitted):
            raise RuntimeError('GaussianMemory is not fitted: call fit() or load a checkpoint')
        b = feats.shape[0]
        dist = self._distance(self._samples(feats), self.mean, self.precision)
        return dist.reshape(-1, b).T.reshape(b, *self.grid)     # cells are the outer index
