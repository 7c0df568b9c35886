"""The distillation head: chosen stages' activation maps against the packed anomaly map."""
from typing import Sequence

import torch
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS

from agssp.core.anomaly_maps import stack_anomaly_maps
from agssp.models.activation import resize_target, stage_activation
from agssp.models.losses import map_cosine
from agssp.registry import PRETRAIN_MODELS, register_into


def join_task_and_distill_losses(task_losses: dict, distill_losses: dict, task: str) -> dict:
    """One loss dict: upstream's ``loss`` renamed ``loss_<task>`` (so that the logged ``loss``
    is mmengine's total), then the distillation entries."""
    losses = {(f'loss_{task}' if key == 'loss' else key): value
              for key, value in task_losses.items()}
    losses.update(distill_losses)
    return losses


@register_into(*PRETRAIN_MODELS)
class AnomalyMapDistillHead(BaseModule):
    """Distils the anomaly map into backbone stages; no parameters of its own.

    Args:
        in_indices: which entries of the backbone's output tuple to distil (e.g. ``(0, 1)`` for
            a backbone with ``out_indices=(3, 4)``: both outputs).
        loss: the loss config (:class:`AnomalyMapDistillLoss`), applied per stage and summed.
    """

    def __init__(self, in_indices: Sequence[int] = (-1,),
                 loss: dict = dict(type='AnomalyMapDistillLoss'), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if not in_indices:
            raise ValueError('in_indices must name at least one backbone output')
        self.in_indices = tuple(int(i) for i in in_indices)
        self.loss_module = MODELS.build(loss)

    def stage_pairs(self, feats: Sequence[torch.Tensor], anomaly_maps: torch.Tensor):
        """[(activation, target)] per chosen stage, each (B, 1, h, w); every target is resized
        from ``anomaly_maps`` itself."""
        if not isinstance(feats, (tuple, list)):
            raise TypeError(f'expected the backbone output tuple, got {type(feats).__name__}')
        if any(i >= len(feats) or i < -len(feats) for i in self.in_indices):
            raise IndexError(f'in_indices {self.in_indices} outside the backbone output '
                             f'({len(feats)} tensors): check the backbone out_indices')
        pairs = []
        for i in self.in_indices:
            activation = stage_activation(feats[i])
            pairs.append((activation, resize_target(anomaly_maps, activation.shape[-2:])))
        return pairs

    def loss(self, feats: Sequence[torch.Tensor], data_samples) -> dict:
        """``loss_distill`` (summed over stages) and, for the logs, each stage's mean cosine."""
        anomaly_maps = stack_anomaly_maps(data_samples).to(feats[0].device)
        losses = dict()
        total = 0.0
        for i, (activation, target) in zip(self.in_indices, self.stage_pairs(feats, anomaly_maps)):
            total = total + self.loss_module(activation, target)
            with torch.no_grad():
                losses[f'distill_cos_out{i % len(feats)}'] = map_cosine(activation, target).mean()
        losses['loss_distill'] = total
        return losses
