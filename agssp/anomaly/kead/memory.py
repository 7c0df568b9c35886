"""KeAD's few-shot term: a memory of patch tokens from k normal reference images, per layer."""
import logging
from typing import List, Sequence

import torch
import torch.nn.functional as F
from torch import nn

logger = logging.getLogger('agssp')


class FewShotPatchMemory(nn.Module):
    """Unit patch tokens of at most ``k_shot`` reference images, one bank per layer.

    The few-shot score of a patch at one layer is ``0.5 * min_j (1 - cos(patch, memory_j))``.
    """

    def __init__(self, k_shot: int):
        super().__init__()
        if k_shot < 0:
            raise ValueError(f'k_shot must be >= 0, got {k_shot}')
        self.k_shot = int(k_shot)
        self.num_images = 0
        self.register_buffer('banks', None, persistent=False)

    @property
    def is_empty(self) -> bool:
        return self.banks is None

    def limit(self, images: torch.Tensor) -> torch.Tensor:
        """The first ``k_shot`` images; the rest are left out with a logged warning."""
        if images.shape[0] > self.k_shot:
            logger.warning('few-shot memory keeps the first %d of %d reference images '
                           '(k_shot=%d); %d left out', self.k_shot, images.shape[0],
                           self.k_shot, images.shape[0] - self.k_shot)
        return images[:self.k_shot]

    def build(self, layer_tokens: Sequence[torch.Tensor]) -> None:
        """Replace the memory with the patch tokens (n, N, D) of n <= k_shot images, per layer."""
        counts = {tokens.shape[0] for tokens in layer_tokens}
        if len(counts) != 1:
            raise ValueError(f'every layer needs tokens of the same images, got counts {counts}')
        count = counts.pop()
        if not 0 < count <= self.k_shot:
            raise ValueError(f'the memory holds 1..{self.k_shot} images (k_shot), got {count}')
        self.banks = torch.stack([F.normalize(t.flatten(0, 1).float(), dim=-1)
                                  for t in layer_tokens])
        self.num_images = count

    def score(self, layer_tokens: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        """Per layer, the few-shot score (B, N) of each patch token (B, N, D)."""
        if self.is_empty:
            raise RuntimeError('few-shot memory is empty: call fit() with normal reference images '
                               'first (or set k_shot=0 for zero-shot maps)')
        if len(layer_tokens) != self.banks.shape[0]:
            raise ValueError(f'memory has {self.banks.shape[0]} layers, got {len(layer_tokens)}')
        scores = []
        for tokens, bank in zip(layer_tokens, self.banks):
            similarity = F.normalize(tokens.float(), dim=-1) @ bank.T
            scores.append(0.5 * (1.0 - similarity.amax(dim=-1)))
        return scores
