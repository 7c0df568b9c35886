"""Tail normalisation of a score: its surprise, ``-log P(S >= s)`` over the training pixels.

Each score is mapped through its own distribution on the training images, so scores of any
unit land on one scale (nats) and summing them is Fisher's combination of their tail
probabilities: a pixel rare under one score counts as much as a pixel rare under another,
however each score's values are spread. The distribution is kept as a table of ``levels``
quantiles evenly spaced in surprise, from 0 (the minimum) to ``log(n)`` (the largest value
among ``n`` training pixels); beyond the table the surprise grows linearly with the score at
the slope of the table's last two nats (an exponential tail), below it it is 0.
"""
from typing import Tuple

import numpy as np
import torch

TAIL_LEVELS = 128
TAIL_FIT_NATS = 2.0     # the extrapolation's slope comes from the table's last nats


def tail_table(values: np.ndarray, levels: int = TAIL_LEVELS) -> Tuple[np.ndarray, np.ndarray]:
    """(score values, surprise) of ``levels`` quantiles of ``values`` (at least two)."""
    values = np.asarray(values, np.float64).ravel()
    if values.size < 2:
        raise ValueError(f'tail normalisation needs at least two values, got {values.size}')
    surprise = np.linspace(0.0, np.log(values.size), levels)
    quantiles = np.quantile(values, 1.0 - np.exp(-surprise))
    return quantiles, surprise


def tail_surprise(score: torch.Tensor, values: torch.Tensor,
                  surprise: torch.Tensor) -> torch.Tensor:
    """``score`` (any shape) as surprise under the table (``values``, ``surprise``), (L,)
    each; where values repeat, the smallest surprise of the run (the tail includes it)."""
    flat = score.reshape(-1).to(values.dtype)
    last = len(values) - 1
    i = torch.searchsorted(values, flat).clamp(1, last)
    v0, v1, t0, t1 = values[i - 1], values[i], surprise[i - 1], surprise[i]
    step = (v1 - v0).clamp(min=1e-12)
    inside = t0 + ((flat - v0) / step).clamp(0, 1) * (t1 - t0)
    inside = torch.where(flat <= values[0], torch.zeros_like(inside), inside)
    j = int(torch.searchsorted(surprise, surprise[last] - TAIL_FIT_NATS).clamp(0, last - 1))
    rise = values[last] - values[j]
    slope = (surprise[last] - surprise[j]) / rise if rise > 0 else rise.new_zeros(())
    beyond = surprise[last] + (flat - values[last]) * slope
    out = torch.where(flat > values[last], beyond, inside)
    return out.reshape(score.shape).to(score.dtype)
