"""SynthSeg: weights-free anomaly maps learned from the unlabelled images themselves.

Three scores per image, each normalised by its spread on the training images and summed with
configurable weights:

    * ``segmentation``: :class:`SynthSegNet` trained to segment synthetic defects
      (:mod:`.synthetic`) - sharp, local, knows what defects look like;
    * ``texture``: Mahalanobis distance of hand-made texture statistics (:mod:`.texture`) to a
      Gaussian memory of the training images - large, smooth, low-contrast deviations;
    * ``feature``: the same distance for the network's stride-8 decoder features.

Normalisation of a score: ``(s - median) / (99th percentile - median)`` over all training-image
pixels, so 0 is typical and 1 is rare on normal surfaces. The map has 1/4 of the input
resolution; the image score is the maximum of the map after a 3x3 mean.
"""
from typing import Dict, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from agssp.anomaly.base import AnomalyMapModel
from agssp.anomaly.synthseg.memory import GaussianMemory
from agssp.anomaly.synthseg.texture import texture_channels, texture_features
from agssp.anomaly.synthseg.torch_model import SynthSegNet
from agssp.registry import ANOMALY_MODELS

COMPONENTS = ('segmentation', 'texture', 'feature')
CELL = 8            # memory cell size in input pixels
GREY_EPS = 1.0      # grey levels added to the standard deviation when standardising
NORM_QUANTILE = 99.0


def standardised_grey(images: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) images in [0, 255] -> grey (B, 1, H, W) with zero mean, unit std per image.

    The one input rule of SynthSeg, shared by training and inference: channels are averaged,
    then each image is standardised, so exposure and gain differences between images vanish.
    """
    grey = images.float().mean(1, keepdim=True)
    mean = grey.mean((2, 3), keepdim=True)
    std = grey.std((2, 3), keepdim=True)
    return (grey - mean) / (std + GREY_EPS)


@ANOMALY_MODELS.register_module()
class SynthSeg(AnomalyMapModel):
    """Synthetic-defect segmentation plus Gaussian memories of texture and features.

    Args:
        input_size: (H, W), both divisible by 32.
        widths: encoder stage widths of :class:`SynthSegNet`.
        decoder_channels: decoder width (also the feature-memory channels).
        layout: ``positional`` (aligned images) or ``global`` memories.
        weights: weight of each score in the map (keys from ``COMPONENTS``; 0 drops one).
        trim: fraction of farthest samples the memories drop (contaminated pools).
        shrinkage: relative ridge of the memories' covariances.
        fit_batch_size: images per forward pass in :meth:`fit`.
    """

    def __init__(self, input_size: Sequence[int] = (256, 256),
                 widths: Sequence[int] = (16, 32, 64, 96, 128), decoder_channels: int = 48,
                 layout: str = 'positional', weights: Optional[Mapping[str, float]] = None,
                 trim: float = 0.1, shrinkage: float = 0.01, fit_batch_size: int = 32):
        super().__init__()
        h, w = int(input_size[0]), int(input_size[1])
        if h % 32 or w % 32:
            raise ValueError(f'input_size {input_size} must be divisible by 32')
        self.input_size: Tuple[int, int] = (h, w)
        weights = {**dict(segmentation=1.0, texture=1.0, feature=1.0), **dict(weights or {})}
        unknown = set(weights) - set(COMPONENTS)
        if unknown:
            raise ValueError(f'unknown score weights {sorted(unknown)}; use {COMPONENTS}')
        if not any(weights.values()):
            raise ValueError('at least one score weight must be non-zero')
        self.weights = {k: float(weights[k]) for k in COMPONENTS}
        self.fit_batch_size = int(fit_batch_size)
        self.net = SynthSegNet(1, widths, decoder_channels)
        grid = (h // CELL, w // CELL)
        self.texture_memory = GaussianMemory(texture_channels(), grid, layout, shrinkage, trim)
        self.feature_memory = GaussianMemory(decoder_channels, grid, layout, shrinkage, trim)
        self.register_buffer('score_centre', torch.zeros(len(COMPONENTS)))
        self.register_buffer('score_scale', torch.ones(len(COMPONENTS)))

    def _active(self):
        return [k for k in COMPONENTS if self.weights[k] != 0]

    def _memories(self) -> Dict[str, GaussianMemory]:
        return dict(texture=self.texture_memory, feature=self.feature_memory)

    def _score_inputs(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        """What each active score comes from, for standardised grey images: the segmentation
        probability (B, H/4, W/4), and the features (B, C, H/8, W/8) a memory scores."""
        active, inputs = self._active(), {}
        if 'segmentation' in active or 'feature' in active:
            out = self.net(x)
            if 'segmentation' in active:
                inputs['segmentation'] = torch.sigmoid(out['logits'][:, 0])
            if 'feature' in active:
                inputs['feature'] = F.avg_pool2d(out['features'][0], 2)
        if 'texture' in active:
            inputs['texture'] = texture_features(x, CELL)
        return inputs

    def raw_scores(self, images: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Un-normalised scores of the active components: segmentation (B, H/4, W/4) as a
        probability, texture and feature (B, H/8, W/8) as Mahalanobis distances."""
        memories = self._memories()
        return {k: memories[k](v) if k in memories else v
                for k, v in self._score_inputs(standardised_grey(images)).items()}

    def _chunks(self, tensor: torch.Tensor):
        for start in range(0, len(tensor), self.fit_batch_size):
            yield tensor[start:start + self.fit_batch_size]

    @torch.no_grad()
    def fit(self, images: torch.Tensor) -> None:
        """Fit the memories and the score normalisation on training images (N, C, H, W).

        ``images`` may be any real dtype in [0, 255] with 1 or 3 channels; they are converted
        chunk by chunk, so a uint8 tensor of the whole training set is fine. One forward pass:
        the score inputs are kept, the memories fitted, then the kept features scored.
        """
        was_training = self.training
        self.eval()
        device = self.score_centre.device
        kept: Dict[str, list] = {}
        for batch in self._chunks(images):
            inputs = self._score_inputs(standardised_grey(batch.to(device)))
            for k, v in inputs.items():
                kept.setdefault(k, []).append(v)
        memories = self._memories()
        for k, parts in kept.items():
            values = torch.cat(parts)
            if k in memories:
                memories[k].fit(values)
                values = torch.cat([memories[k](chunk) for chunk in self._chunks(values)])
            values = values.cpu().numpy().ravel()
            centre = float(np.median(values))
            spread = float(np.percentile(values, NORM_QUANTILE)) - centre
            i = COMPONENTS.index(k)
            self.score_centre[i] = centre
            self.score_scale[i] = max(spread, 1e-6)
        self.train(was_training)

    def forward(self, images: torch.Tensor) -> Dict[str, torch.Tensor]:
        h, w = self.input_size
        if tuple(images.shape[-2:]) != (h, w):
            raise ValueError(f'images must be resized to input_size {self.input_size}, '
                             f'got {tuple(images.shape[-2:])}')
        size = (h // self.net.out_stride, w // self.net.out_stride)
        total = 0
        for k, score in self.raw_scores(images).items():
            i = COMPONENTS.index(k)
            score = (score - self.score_centre[i]) / self.score_scale[i]
            if score.shape[-2:] != size:
                score = F.interpolate(score[:, None], size=size, mode='bilinear',
                                      align_corners=False)[:, 0]
            total = total + self.weights[k] * score
        image_score = F.avg_pool2d(total[:, None], 3, 1, 1, count_include_pad=False)
        return dict(anomaly_map=total, image_score=image_score.flatten(1).amax(1))
