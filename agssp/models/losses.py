"""The distillation loss between a stage's activation map and its anomaly-map target."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from agssp.registry import PRETRAIN_MODELS, register_into

DISTILL_LOSS_MODES = ('cosine', 'normalized_l2')


def _flat_unit(maps: torch.Tensor, eps: float) -> torch.Tensor:
    return F.normalize(maps.flatten(1).float(), dim=1, eps=eps)


def _check_pair(activation: torch.Tensor, target: torch.Tensor):
    if activation.shape[0] != target.shape[0] or \
            activation[0].numel() != target[0].numel():
        raise ValueError(f'activation {tuple(activation.shape)} and target '
                         f'{tuple(target.shape)} differ in batch or map size')


def map_cosine(activation: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Cosine similarity per sample of the flattened maps (batch first): (B,). A map whose norm
    is 0 has cosine 0 with anything."""
    _check_pair(activation, target)
    return (_flat_unit(activation, eps) * _flat_unit(target, eps)).sum(dim=1)


def per_sample_distill_loss(activation: torch.Tensor, target: torch.Tensor,
                            mode: str = 'cosine', eps: float = 1e-8) -> torch.Tensor:
    """Loss per sample on the flattened maps (any shape with the batch first): (B,).

    ``cosine``: ``2 - 2 * cos(activation, target)``. ``normalized_l2``: the squared L2 distance
    of the two maps after dividing each by its L2 norm. For non-zero maps both are the same
    value (||a/|a| - t/|t|||^2 = 2 - 2cos); the two forms are kept because the paper's recipes
    name them separately, each with its own weight. A zero map counts as the zero vector after
    normalisation (no gradient flows through it).
    """
    if mode not in DISTILL_LOSS_MODES:
        raise ValueError(f'unknown distillation loss mode {mode!r}; known: {DISTILL_LOSS_MODES}')
    if mode == 'cosine':
        return 2.0 - 2.0 * map_cosine(activation, target, eps)
    _check_pair(activation, target)
    return (_flat_unit(activation, eps) - _flat_unit(target, eps)).pow(2).sum(dim=1)


@register_into(*PRETRAIN_MODELS)
class AnomalyMapDistillLoss(nn.Module):
    """Mean over the batch of :func:`per_sample_distill_loss`, times ``loss_weight``."""

    def __init__(self, mode: str = 'cosine', loss_weight: float = 1.0, eps: float = 1e-8):
        super().__init__()
        if mode not in DISTILL_LOSS_MODES:
            raise ValueError(f'unknown distillation loss mode {mode!r}; '
                             f'known: {DISTILL_LOSS_MODES}')
        self.mode, self.loss_weight, self.eps = mode, float(loss_weight), eps

    def forward(self, activation: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        per_sample = per_sample_distill_loss(activation, target, self.mode, self.eps)
        return self.loss_weight * per_sample.mean()
