"""The interface every anomaly-map method implements, so one generator serves them all."""
from typing import Dict, Tuple

import torch
from torch import nn


class AnomalyMapModel(nn.Module):
    """Base of anomaly-map methods (KeAD, the weights-free method, ...).

    Subclasses set ``input_size`` (H, W) and implement :meth:`forward`. Images reach
    :meth:`forward` already resized to ``input_size`` (aspect ratio not kept), as float RGB in
    [0, 255], shape (B, 3, H, W); each method normalises them itself. Methods that learn from
    images or keep a memory of normal references implement :meth:`fit`.
    """

    input_size: Tuple[int, int] = (256, 256)

    def fit(self, images: torch.Tensor) -> None:
        """Learn from, or memorise, normal/unlabelled images (B, 3, H, W); default: nothing."""

    def forward(self, images: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Return ``anomaly_map`` (B, h, w), higher is more anomalous, and ``image_score`` (B,)."""
        raise NotImplementedError
