"""Thresholds that binarise anomaly maps into pseudo-defect regions, chosen by a config dict.

- ``dict(type='mean_max', offset=-0.1)`` (default, the paper's): over the whole map set, the
  mean of each map's maximum, plus ``offset``. Dataset-level: computed once, streaming.
- ``dict(type='absolute', value=0.5)``: one fixed value.
- ``dict(type='quantile', q=0.99)``: per image, the ``q``-quantile of the map's values.
- ``dict(type='otsu')``: per image, Otsu's threshold on the map's values (256 levels between
  the map's minimum and maximum).
"""
import cv2
import numpy as np

DEFAULT_THRESHOLD = dict(type='mean_max', offset=-0.1)

_DEFAULTS = dict(mean_max=dict(offset=-0.1), absolute=dict(value=None),
                 quantile=dict(q=0.99), otsu=dict())


def threshold_cfg_with_defaults(cfg=None) -> dict:
    """A checked threshold config with every parameter filled in."""
    cfg = dict(DEFAULT_THRESHOLD if cfg is None else cfg)
    kind = cfg.pop('type', None)
    if kind not in _DEFAULTS:
        raise ValueError(f'unknown threshold type {kind!r}; known: {sorted(_DEFAULTS)}')
    unknown = set(cfg) - set(_DEFAULTS[kind])
    if unknown:
        raise KeyError(f'unknown options {sorted(unknown)} for threshold type {kind!r}; '
                       f'known: {sorted(_DEFAULTS[kind])}')
    full = dict(type=kind, **{**_DEFAULTS[kind], **cfg})
    if kind == 'absolute' and full['value'] is None:
        raise ValueError("threshold type 'absolute' needs a value, e.g. dict(type='absolute', "
                         'value=0.5)')
    if kind == 'quantile' and not 0.0 <= float(full['q']) <= 1.0:
        raise ValueError(f"quantile q must lie in [0, 1], got {full['q']}")
    return full


def is_dataset_level(cfg) -> bool:
    """Whether the threshold is one value computed over the whole map set."""
    return threshold_cfg_with_defaults(cfg)['type'] == 'mean_max'


class MeanOfMaxima:
    """Streaming mean of each map's maximum: one map in memory at a time."""

    def __init__(self):
        self.total, self.count = 0.0, 0

    def add(self, anomaly_map):
        self.total += float(np.max(anomaly_map))
        self.count += 1

    @property
    def mean(self) -> float:
        if self.count == 0:
            raise ValueError('the mean of map maxima needs at least one map')
        return self.total / self.count


def otsu_threshold(anomaly_map) -> float:
    """Otsu's threshold of a float map, on 256 levels between its minimum and maximum.

    Pixels ``> threshold`` are the foreground. A constant map gets its own value (no
    foreground).
    """
    amap = np.asarray(anomaly_map, dtype=np.float32)
    low, high = float(amap.min()), float(amap.max())
    if high <= low:
        return high
    levels = np.round((amap - low) * (255.0 / (high - low))).astype(np.uint8)
    level, _ = cv2.threshold(levels, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # Levels above ``level`` are foreground: put the float threshold half a level above it.
    return low + (level + 0.5) * (high - low) / 255.0


def image_threshold(anomaly_map, cfg, dataset_value=None) -> float:
    """The threshold that binarises this map under ``cfg``.

    ``dataset_value`` is the already computed dataset-level value (required for ``mean_max``).
    """
    cfg = threshold_cfg_with_defaults(cfg)
    kind = cfg['type']
    if kind == 'mean_max':
        if dataset_value is None:
            raise ValueError("threshold 'mean_max' is dataset-level: compute it over the map "
                             'set first (agssp.pseudo_boxes.resolve_threshold)')
        return float(dataset_value)
    if kind == 'absolute':
        return float(cfg['value'])
    if kind == 'quantile':
        return float(np.quantile(anomaly_map, float(cfg['q'])))
    return otsu_threshold(anomaly_map)
