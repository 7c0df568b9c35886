"""Self-similarity: how unlike the rest of its own image each cell is.

A memory compares a cell with the training images; it cannot tell a defect from normal texture
when the pool is full of the same defects (NEU-DET holds no defect-free image) or when nothing
is aligned. Within one image, though, a defect is usually a minority: the score of a cell is the
mean distance of its (whitened) features to its ``k`` nearest cells of the same image, with
``k`` a fraction of the image's cells. Texture that covers more than that fraction of the image
has close neighbours and scores low; a pit, a scratch or a patch has none. Repeating structure
(threads, stripes) finds its neighbours elsewhere in the image and scores low too.

The features are whitened with the pool's covariance of within-image deviations (each cell's
features less its image's median), so every statistic counts by how much it varies inside
normal images.
"""
import torch
from torch import nn


class SelfSimilarity(nn.Module):
    """Mean whitened distance of each cell to its ``k`` nearest cells of the same image.

    Args:
        channels: feature channels C.
        knn_fraction: ``k`` as a fraction of an image's cells (at least 1).
        shrinkage: ridge added to the covariance, relative to its mean variance.
        max_samples: cells (over all images) the covariance is estimated from, evenly spaced.
    """

    def __init__(self, channels: int, knn_fraction: float = 0.25, shrinkage: float = 0.01,
                 max_samples: int = 200_000):
        super().__init__()
        if not 0 < knn_fraction < 1:
            raise ValueError(f'knn_fraction must be in (0, 1), got {knn_fraction}')
        self.knn_fraction, self.shrinkage = float(knn_fraction), float(shrinkage)
        self.max_samples = int(max_samples)
        self.register_buffer('whitener', torch.eye(channels))
        self.register_buffer('fitted', torch.zeros((), dtype=torch.bool))

    @staticmethod
    def _deviations(feats: torch.Tensor) -> torch.Tensor:
        """(N, C, h, w) -> (N, h*w, C): each cell's features less its image's median."""
        cells = feats.float().flatten(2)
        return (cells - cells.median(2, keepdim=True).values).transpose(1, 2)

    @torch.no_grad()
    def fit(self, feats: torch.Tensor) -> None:
        """Estimate the whitening from the cells of training images (N, C, h, w)."""
        dev = self._deviations(feats).reshape(-1, feats.shape[1])
        if len(dev) < 2:
            raise ValueError('self-similarity needs at least two cells to fit')
        step = max(1, len(dev) // self.max_samples)
        cov = torch.cov(dev[::step].T.double())
        cov += self.shrinkage * cov.diagonal().mean().clamp(min=1e-12) * torch.eye(
            cov.shape[0], dtype=cov.dtype, device=cov.device)
        self.whitener.copy_(torch.linalg.cholesky(torch.linalg.inv(cov)).float())
        self.fitted.fill_(True)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """Scores (B, h, w) of features (B, C, h, w)."""
        if not bool(self.fitted):
            raise RuntimeError('SelfSimilarity is not fitted: call fit() or load a checkpoint')
        b, _, h, w = feats.shape
        cells = h * w
        if cells < 2:
            raise ValueError('self-similarity needs at least two cells per image')
        k = min(cells - 1, max(1, round(self.knn_fraction * cells)))
        z = feats.float().flatten(2).transpose(1, 2) @ self.whitener        # (B, cells, C)
        dist = torch.cdist(z, z)
        # the nearest is the cell itself (distance 0): take the k after it
        near = dist.topk(k + 1, dim=2, largest=False).values[..., 1:]
        return near.mean(2).reshape(b, h, w)
