"""SynthSeg: weights-free anomaly maps learned from the unlabelled images themselves.

Up to four scores per image, each normalised by its spread on the training images and summed
with configurable weights:

    * ``segmentation``: :class:`SynthSegNet` trained to segment synthetic defects
      (:mod:`.synthetic`) - sharp, local, knows what defects look like;
    * ``texture``: Mahalanobis distance of hand-made texture statistics (:mod:`.texture`) to a
      Gaussian memory of the training images - large, smooth, low-contrast deviations;
    * ``feature``: the same distance for the network's stride-8 decoder features;
    * ``self_similarity``: how unlike the rest of its own image a cell's texture statistics are
      (:mod:`.self_similarity`) - defects in pools with no clean image or no alignment (off
      unless weighted).

Normalisation of a score over all training-image pixels, ``normalisation=``:

    * ``spread``: ``(s - median) / (99th percentile - median)``, so 0 is typical and 1 is rare;
    * ``tail``: the surprise ``-log P(S >= s)`` (:mod:`.normalisation`), so the summed map is
      Fisher's combination of the scores' tail probabilities, whatever each score's spread.

The map has 1/4 of the input resolution; the image score is the maximum of the map after a
3x3 mean. Before it, ``centre=`` may take a reference off each map, for pools that mix sources
(one camera's images scoring higher everywhere):

    * ``pool``: none (the scores' centres are the training pool's);
    * ``image``: the map's own median, at the cost of offsets that are themselves the defect
      (large defects, whole-image changes);
    * ``neighbours``: the per-pixel median map of the ``reference_k`` pool images that look
      most like it (:mod:`.reference`), so what images of its kind score is taken off and what
      is its own stays.

Two settings can follow from the data, and the checkpoint keeps what was chosen:

    * ``aspect='keep'``: ``input_size`` is a pixel budget; the trainer gives the model the size
      of that area at the pool's aspect ratio (:func:`aspect_input_size`), so wide or tall
      images are not squashed and the map has the image's aspect;
    * ``layout='auto'``: :meth:`SynthSeg.fit` measures how aligned the pool is
      (:func:`pool_alignment`) and keeps positional memories when it is at least
      ``alignment_threshold``, pooled (``global``) ones otherwise.
"""
import logging
import math
from typing import Dict, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from agssp.anomaly.base import AnomalyMapModel
from agssp.anomaly.registry import ANOMALY_MODELS
from agssp.anomaly.synthseg.memory import LAYOUTS, GaussianMemory
from agssp.anomaly.synthseg.normalisation import TAIL_LEVELS, tail_surprise, tail_table
from agssp.anomaly.synthseg.reference import NeighbourReference
from agssp.anomaly.synthseg.self_similarity import SelfSimilarity
from agssp.anomaly.synthseg.texture import texture_channels, texture_features
from agssp.anomaly.synthseg.torch_model import SynthSegNet

logger = logging.getLogger('agssp')

COMPONENTS = ('segmentation', 'texture', 'feature', 'self_similarity')
DEFAULT_WEIGHTS = dict(segmentation=1.0, texture=1.0, feature=1.0, self_similarity=0.0)
CELL = 8            # memory cell size in input pixels
GREY_EPS = 1.0      # grey levels added to the standard deviation when standardising
NORM_QUANTILE = 99.0
NORMALISATIONS = ('spread', 'tail')
CENTRES = ('pool', 'image', 'neighbours')
ASPECTS = ('stretch', 'keep')
SIZE_STEP = 32      # input sides are multiples of this


def aspect_input_size(budget: Sequence[int], image_hw: Sequence[float]) -> Tuple[int, int]:
    """(h, w), multiples of 32, with about the area of ``budget`` (H, W) and the aspect ratio
    of ``image_hw``; each side at least 32."""
    area = float(budget[0]) * float(budget[1])
    ratio = float(image_hw[1]) / float(image_hw[0])
    h = max(1, round(math.sqrt(area / ratio) / SIZE_STEP))
    w = max(1, round(math.sqrt(area * ratio) / SIZE_STEP))
    return h * SIZE_STEP, w * SIZE_STEP


def pool_alignment(feats: torch.Tensor) -> float:
    """How aligned a pool is, from per-cell features (N, C, h, w) of its images, in [0, 1].

    Per channel, the share of the variance that the cell position explains: the variance over
    cells of the per-cell means across images (less its sampling noise, within / N) over that
    plus the mean within-cell variance across images; the mean over channels. The same pattern
    at the same place gives about 1, content at random places about 0.
    """
    n = feats.shape[0]
    if n < 2:
        raise ValueError(f'pool_alignment needs at least two images, got {n}')
    cells = feats.double().flatten(2)                                   # (N, C, cells)
    within = cells.var(0).mean(-1)                                      # (C,)
    between = (cells.mean(0).var(-1) - within / n).clamp(min=0)
    total = between + within
    share = torch.where(total > 0, between / total.clamp(min=1e-12), torch.zeros_like(total))
    return float(share.mean())


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
        layout: ``positional`` (aligned images), ``global`` memories, or ``auto``: chosen in
            :meth:`fit` from :func:`pool_alignment` of the texture statistics.
        alignment_threshold: ``auto`` keeps positional memories from this alignment on.
        aspect: ``stretch`` (images resized to ``input_size``) or ``keep`` (``input_size`` is
            a pixel budget; :meth:`set_input_size` gives the model the pool's aspect).
        weights: weight of each score in the map (keys from ``COMPONENTS``; 0 drops one;
            missing keys take :data:`DEFAULT_WEIGHTS`).
        knn_fraction: the self-similarity score's ``k`` as a fraction of an image's cells.
        normalisation: ``spread`` or ``tail`` (see the module docstring).
        centre: ``pool``, ``image`` or ``neighbours`` (see the module docstring).
        reference_k: neighbours of ``centre='neighbours'``.
        reference_max_images: pool images ``centre='neighbours'`` keeps (evenly spaced).
        trim: fraction of farthest samples the memories drop (contaminated pools).
        shrinkage: relative ridge of the memories' covariances.
        fit_batch_size: images per forward pass in :meth:`fit`.
    """

    def __init__(self, input_size: Sequence[int] = (256, 256),
                 widths: Sequence[int] = (16, 32, 64, 96, 128), decoder_channels: int = 48,
                 layout: str = 'positional', weights: Optional[Mapping[str, float]] = None,
                 trim: float = 0.1, shrinkage: float = 0.01, fit_batch_size: int = 32,
                 alignment_threshold: float = 0.1, aspect: str = 'stretch',
                 knn_fraction: float = 0.25, normalisation: str = 'spread',
                 centre: str = 'pool', reference_k: int = 32,
                 reference_max_images: int = 2048):
        super().__init__()
        if normalisation not in NORMALISATIONS:
            raise ValueError(f'normalisation must be one of {NORMALISATIONS}, '
                             f'got {normalisation!r}')
        if centre not in CENTRES:
            raise ValueError(f'centre must be one of {CENTRES}, got {centre!r}')
        self.normalisation, self.centre = normalisation, centre
        self.reference_k, self.reference_max_images = int(reference_k), int(reference_max_images)
        if layout not in (*LAYOUTS, 'auto'):
            raise ValueError(f"layout must be one of {(*LAYOUTS, 'auto')}, got {layout!r}")
        if aspect not in ASPECTS:
            raise ValueError(f'aspect must be one of {ASPECTS}, got {aspect!r}')
        self.layout_rule, self.aspect = layout, aspect
        self.alignment_threshold = float(alignment_threshold)
        self.trim, self.shrinkage = float(trim), float(shrinkage)
        weights = {**DEFAULT_WEIGHTS, **dict(weights or {})}
        unknown = set(weights) - set(COMPONENTS)
        if unknown:
            raise ValueError(f'unknown score weights {sorted(unknown)}; use {COMPONENTS}')
        if not any(weights.values()):
            raise ValueError('at least one score weight must be non-zero')
        self.weights = {k: float(weights[k]) for k in COMPONENTS}
        self.fit_batch_size = int(fit_batch_size)
        self.net = SynthSegNet(1, widths, decoder_channels)
        self.decoder_channels = int(decoder_channels)
        self.self_similarity = SelfSimilarity(texture_channels(), knn_fraction, shrinkage)
        # What the data decided, kept in the checkpoint: input size, layout, alignment (NaN:
        # not measured).
        self.register_buffer('chosen_input_size', torch.zeros(2, dtype=torch.long))
        self.register_buffer('chosen_layout', torch.zeros((), dtype=torch.long))
        self.register_buffer('alignment', torch.tensor(float('nan')))
        self.register_buffer('reference_key', torch.zeros(1 + len(COMPONENTS)))
        self.register_buffer('score_centre', torch.zeros(len(COMPONENTS)))
        self.register_buffer('score_scale', torch.ones(len(COMPONENTS)))
        self.register_buffer('tail_values', torch.zeros(len(COMPONENTS), TAIL_LEVELS,
                                                        dtype=torch.float64))
        self.register_buffer('tail_surprise', torch.zeros(len(COMPONENTS), TAIL_LEVELS,
                                                          dtype=torch.float64))
        self._set_memories(input_size, 'positional' if layout == 'auto' else layout)
        self._register_load_state_dict_pre_hook(self._adopt_checkpoint_choices)

    @property
    def layout(self) -> str:
        """The memories' layout in use."""
        return LAYOUTS[int(self.chosen_layout)]

    def _set_memories(self, input_size: Sequence[int], layout: str) -> None:
        """(Re)build unfitted memories for ``input_size`` and ``layout``."""
        h, w = int(input_size[0]), int(input_size[1])
        if h % SIZE_STEP or w % SIZE_STEP or h < SIZE_STEP or w < SIZE_STEP:
            raise ValueError(f'input_size {tuple(input_size)} must be divisible by 32')
        self.input_size: Tuple[int, int] = (h, w)
        device = self.score_centre.device
        grid = (h // CELL, w // CELL)
        self.texture_memory = GaussianMemory(texture_channels(), grid, layout, self.shrinkage,
                                             self.trim).to(device)
        self.feature_memory = GaussianMemory(self.decoder_channels, grid, layout,
                                             self.shrinkage, self.trim).to(device)
        self.reference = self._empty_reference().to(device)
        self.chosen_input_size.copy_(torch.tensor([h, w]))
        self.chosen_layout.fill_(LAYOUTS.index(layout))

    def _empty_reference(self) -> NeighbourReference:
        return NeighbourReference(self.input_size, self.reference_k, self.reference_max_images)

    def _map_key(self) -> torch.Tensor:
        """What the maps of the neighbour reference depend on: normalisation and weights."""
        return torch.tensor([NORMALISATIONS.index(self.normalisation),
                             *(self.weights[k] for k in COMPONENTS)])

    def set_input_size(self, input_size: Sequence[int]) -> None:
        """Use another input size (memories are rebuilt: call before :meth:`fit`)."""
        self._set_memories(input_size, self.layout)

    def _adopt_checkpoint_choices(self, state_dict, prefix, *args):
        """Before loading: take the checkpoint's input size and layout (older checkpoints,
        without them, keep the config's); a checkpoint from before ``self_similarity`` gets
        its normalisation padded (centre 0, scale 1) and unfitted self-similarity buffers; one
        from before ``normalisation='tail'`` gets empty tail tables, one from before
        ``centre='neighbours'`` an empty reference."""
        for key in ('tail_values', 'tail_surprise'):
            state_dict.setdefault(prefix + key, getattr(self, key).clone())
        centre = state_dict.get(prefix + 'score_centre')
        if centre is not None and len(centre) < len(COMPONENTS):     # before self_similarity
            missing = len(COMPONENTS) - len(centre)
            state_dict[prefix + 'score_centre'] = torch.cat([centre, centre.new_zeros(missing)])
            scale = state_dict[prefix + 'score_scale']
            state_dict[prefix + 'score_scale'] = torch.cat([scale, scale.new_ones(missing)])
            for key, value in self.self_similarity.state_dict().items():
                state_dict.setdefault(f'{prefix}self_similarity.{key}', value.clone())
        size, layout = (state_dict.get(prefix + k) for k in ('chosen_input_size',
                                                              'chosen_layout'))
        if size is None or layout is None:
            for key in ('chosen_input_size', 'chosen_layout', 'alignment'):
                state_dict.setdefault(prefix + key, getattr(self, key).clone())
        else:
            size, layout = tuple(int(v) for v in size), LAYOUTS[int(layout)]
            if size != self.input_size or layout != self.layout:
                self._set_memories(size, layout)
        state_dict.setdefault(prefix + 'reference_key', torch.zeros_like(self.reference_key))
        for key, value in self._empty_reference().state_dict().items():
            state_dict.setdefault(f'{prefix}reference.{key}', value)

    def settings(self) -> dict:
        """What the model runs with, including what the data decided."""
        alignment = float(self.alignment)
        return dict(input_size=list(self.input_size), aspect=self.aspect,
                    layout=self.layout, layout_rule=self.layout_rule,
                    alignment=None if math.isnan(alignment) else round(alignment, 4),
                    alignment_threshold=self.alignment_threshold,
                    normalisation=self.normalisation, centre=self.centre,
                    reference_k=self.reference_k,
                    reference_max_images=self.reference_max_images)

    def choose_layout(self, texture: torch.Tensor) -> str:
        """Measure the alignment of texture statistics (N, C, h, w), record it and, with
        ``layout='auto'``, rebuild the memories with the layout it calls for."""
        alignment = pool_alignment(texture)
        self.alignment.fill_(alignment)
        if self.layout_rule == 'auto':
            layout = 'positional' if alignment >= self.alignment_threshold else 'global'
            self._set_memories(self.input_size, layout)
        logger.info('SynthSeg: pool alignment %.3f (threshold %.2f): %s memories', alignment,
                    self.alignment_threshold, self.layout)
        return self.layout

    def _active(self):
        return [k for k in COMPONENTS if self.weights[k] != 0]

    def _scorers(self) -> Dict[str, torch.nn.Module]:
        """The fitted scorer of each score that has one (segmentation is its own score)."""
        return dict(texture=self.texture_memory, feature=self.feature_memory,
                    self_similarity=self.self_similarity)

    def _score_inputs(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        """What each active score comes from, for standardised grey images: the segmentation
        probability (B, H/4, W/4), and the features (B, C, H/8, W/8) a scorer scores."""
        active, inputs = self._active(), {}
        if 'segmentation' in active or 'feature' in active:
            out = self.net(x)
            if 'segmentation' in active:
                inputs['segmentation'] = torch.sigmoid(out['logits'][:, 0])
            if 'feature' in active:
                inputs['feature'] = F.avg_pool2d(out['features'][0], 2)
        if 'texture' in active or 'self_similarity' in active:
            texture = texture_features(x, CELL)
            inputs.update({k: texture for k in ('texture', 'self_similarity') if k in active})
        return inputs

    def raw_scores(self, images: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Un-normalised scores of the active components: segmentation (B, H/4, W/4) as a
        probability, the others (B, H/8, W/8) as distances."""
        return self._raw(standardised_grey(images))

    def _raw(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        scorers = self._scorers()
        return {k: scorers[k](v) if k in scorers else v
                for k, v in self._score_inputs(x).items()}

    def _chunks(self, tensor: torch.Tensor):
        for start in range(0, len(tensor), self.fit_batch_size):
            yield tensor[start:start + self.fit_batch_size]

    @torch.no_grad()
    def fit(self, images: torch.Tensor) -> None:
        """Choose the layout (see :meth:`choose_layout`), then fit the memories, the
        self-similarity whitening, the score normalisation and, with ``centre='neighbours'``,
        the reference on training images (N, C, H, W).

        ``images`` may be any real dtype in [0, 255] with 1 or 3 channels; they are converted
        chunk by chunk, so a uint8 tensor of the whole training set is fine. One forward pass:
        the score inputs are kept, the scorers fitted, then the kept features scored.
        """
        if self.centre == 'neighbours' and len(images) < 2:
            raise ValueError("centre='neighbours' needs at least two training images")
        was_training = self.training
        self.eval()
        device = self.score_centre.device
        kept: Dict[str, list] = {}
        texture, thumbs = [], []
        for batch in self._chunks(images):
            x = standardised_grey(batch.to(device))
            thumbs.append(self.reference.thumbnail(x))
            inputs = self._score_inputs(x)
            for k, v in inputs.items():
                kept.setdefault(k, []).append(v)
            shared = inputs.get('texture', inputs.get('self_similarity'))
            texture.append(texture_features(x, CELL) if shared is None else shared)
        if len(images) > 1:
            self.choose_layout(torch.cat(texture))
        elif self.layout_rule == 'auto':
            raise ValueError("layout='auto' needs at least two training images")
        scorers, scored = self._scorers(), {}
        for k, parts in kept.items():
            values = torch.cat(parts)
            if k in scorers:
                scorers[k].fit(values)
                values = torch.cat([scorers[k](chunk) for chunk in self._chunks(values)])
            scored[k] = values
            values = values.cpu().numpy().ravel()
            centre = float(np.median(values))
            spread = float(np.percentile(values, NORM_QUANTILE)) - centre
            i = COMPONENTS.index(k)
            self.score_centre[i] = centre
            self.score_scale[i] = max(spread, 1e-6)
            if self.normalisation == 'tail':
                for buffer, table in zip((self.tail_values, self.tail_surprise),
                                         tail_table(values)):
                    buffer[i] = torch.from_numpy(table)
        if self.centre == 'neighbours':
            maps = [self._summed_map({k: v[i:i + self.fit_batch_size]
                                      for k, v in scored.items()})
                    for i in range(0, len(images), self.fit_batch_size)]
            self.reference.fit(torch.cat(thumbs), torch.cat(maps))
            self.reference_key.copy_(self._map_key())
        else:
            self.reference = self._empty_reference().to(device)
            self.reference_key.zero_()
        self.train(was_training)

    def normalise(self, component: str, score: torch.Tensor) -> torch.Tensor:
        """A raw score of ``component`` on the scale :meth:`fit` set (``normalisation``)."""
        i = COMPONENTS.index(component)
        if self.normalisation == 'tail':
            if not self.tail_surprise[i].any():
                raise RuntimeError(f"no tail table for {component!r}: the model was fitted "
                                   "with normalisation='spread'; fit it again")
            return tail_surprise(score, self.tail_values[i], self.tail_surprise[i])
        return (score - self.score_centre[i]) / self.score_scale[i]

    def _summed_map(self, raw: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The weighted sum of the normalised raw scores, at the map's size (B, H/4, W/4)."""
        h, w = self.input_size
        size = (h // self.net.out_stride, w // self.net.out_stride)
        total = 0
        for k, score in raw.items():
            score = self.normalise(k, score)
            if score.shape[-2:] != size:
                score = F.interpolate(score[:, None], size=size, mode='bilinear',
                                      align_corners=False)[:, 0]
            total = total + self.weights[k] * score
        return total

    def forward(self, images: torch.Tensor) -> Dict[str, torch.Tensor]:
        if tuple(images.shape[-2:]) != self.input_size:
            raise ValueError(f'images must be resized to input_size {self.input_size}, '
                             f'got {tuple(images.shape[-2:])}')
        x = standardised_grey(images)
        total = self._summed_map(self._raw(x))
        if self.centre == 'image':
            total = total - total.flatten(1).median(1).values[:, None, None]
        elif self.centre == 'neighbours':
            if self.reference.fitted and not torch.equal(self.reference_key.cpu(),
                                                         self._map_key()):
                raise RuntimeError('the neighbour reference was fitted with other '
                                   'normalisation or weights; fit the model again')
            total = self.reference(self.reference.thumbnail(x), total)
        image_score = F.avg_pool2d(total[:, None], 3, 1, 1, count_include_pad=False)
        return dict(anomaly_map=total, image_score=image_score.flatten(1).amax(1))
