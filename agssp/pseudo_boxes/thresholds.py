"""Thresholds that binarise anomaly maps into pseudo-defect regions, chosen by a config dict.

- ``dict(type='mean_max', offset=-0.1, group='source', scale='auto')`` (default, the paper's):
  the mean of each map's maximum plus ``offset``, computed per source dataset (``group='source'``:
  the first-level folder of the map's path under the map folder, as the reference does) or over
  the whole map set (``group='pool'``). Dataset-level: one streaming pass over the maps.
  :func:`mean_max_thresholds` owns the rule, including what ``offset`` is measured in
  (``scale``, see there).
- ``dict(type='absolute', value=0.5)``: one fixed value.
- ``dict(type='quantile', q=0.99)``: per image, the ``q``-quantile of the map's values.
- ``dict(type='otsu')``: per image, Otsu's threshold on the map's values (256 levels between
  the map's minimum and maximum).
"""
from pathlib import PurePath

import cv2
import numpy as np

DEFAULT_THRESHOLD = dict(type='mean_max', offset=-0.1, group='source', scale='auto')

_DEFAULTS = dict(mean_max=dict(offset=-0.1, group='source', scale='auto'),
                 absolute=dict(value=None), quantile=dict(q=0.99), otsu=dict())
_CHOICES = dict(group=('source', 'pool'), scale=('auto', 'unit', 'spread'))

# The source of maps lying directly in the map folder, and the group name of ``group='pool'``.
ROOT_SOURCE = '.'
POOL_GROUP = 'pool'
# ``scale='spread'``: a group's value range, from this percentile of its maps' minima to this
# percentile of their maxima (a few outlier maps do not set it).
SPREAD_PERCENTILES = (1.0, 99.0)


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
    for key, choices in _CHOICES.items():
        if key in full and full[key] not in choices:
            raise ValueError(f"threshold option {key}={full[key]!r}: expected one of {choices}")
    return full


def is_dataset_level(cfg) -> bool:
    """Whether the threshold is one value computed over the whole map set."""
    return threshold_cfg_with_defaults(cfg)['type'] == 'mean_max'


def map_source(relpath) -> str:
    """The source dataset of a map: the first-level folder of its path under the map folder
    (:data:`ROOT_SOURCE` for a map directly in it)."""
    parts = PurePath(relpath).parts
    return parts[0] if len(parts) > 1 else ROOT_SOURCE


class MapExtrema:
    """Each map's minimum and maximum, per source: two floats a map, one map in memory at a time."""

    def __init__(self, minima=None, maxima=None):
        self.minima = {k: list(v) for k, v in (minima or {}).items()}
        self.maxima = {k: list(v) for k, v in (maxima or {}).items()}

    def add(self, relpath, anomaly_map):
        source = map_source(relpath)
        self.minima.setdefault(source, []).append(float(np.min(anomaly_map)))
        self.maxima.setdefault(source, []).append(float(np.max(anomaly_map)))

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.maxima.values())

    def to_dict(self) -> dict:
        return dict(minima=self.minima, maxima=self.maxima)


def mean_max_thresholds(extrema: MapExtrema, offset=-0.1, group='source', scale='auto') -> dict:
    """The dataset-level rule: per group, ``mean(map maxima) + offset * unit``.

    Groups are the sources (``group='source'``, the reference's per-dataset threshold) or the
    whole map set (``group='pool'``). ``unit`` makes ``offset`` mean the same for every map
    method:

    - ``scale='unit'``: ``unit = 1``, the offset in the maps' own values: the reference's
      ``mean max - 0.1``, set for scores in [0, 1].
    - ``scale='spread'``: ``unit`` = the group's value range, from the 1st percentile of its maps'
      minima to the 99th percentile of their maxima. This is the reference's rule applied to the
      group's maps scaled to [0, 1] by that range, written back in map values; any increasing
      affine change of the maps (``a * map + b``, ``a > 0``) moves the threshold with them and
      gives the same boxes.
    - ``scale='auto'`` (default): ``'unit'`` when every map of the set lies in [0, 1]
      (probability-like scores such as KeAD's: exactly the reference's threshold), else
      ``'spread'`` (e.g. SynthSeg's robust z-scores, negative and unbounded).

    Returns ``dict(scale=<'unit' or 'spread' used>, by_source={source: threshold},
    groups={group: dict(threshold, mean_max, unit, n_maps)})``.
    """
    if extrema.count == 0:
        raise ValueError('the mean of map maxima needs at least one map')
    if group not in _CHOICES['group'] or scale not in _CHOICES['scale']:
        raise ValueError(f'group must be one of {_CHOICES["group"]} and scale one of '
                         f'{_CHOICES["scale"]}, got {group!r}, {scale!r}')
    sources = sorted(s for s, values in extrema.maxima.items() if values)
    if scale == 'auto':
        in_unit = (min(min(extrema.minima[s]) for s in sources) >= 0.0
                   and max(max(extrema.maxima[s]) for s in sources) <= 1.0)
        scale = 'unit' if in_unit else 'spread'
    members = ({s: [s] for s in sources} if group == 'source' else {POOL_GROUP: sources})
    groups = {}
    for name, group_sources in members.items():
        minima = np.concatenate([extrema.minima[s] for s in group_sources])
        maxima = np.concatenate([extrema.maxima[s] for s in group_sources])
        low, high = SPREAD_PERCENTILES
        unit = (float(np.percentile(maxima, high) - np.percentile(minima, low))
                if scale == 'spread' else 1.0)
        mean_max = float(maxima.mean())
        groups[name] = dict(threshold=mean_max + float(offset) * unit, mean_max=mean_max,
                            unit=unit, n_maps=int(maxima.size))
    by_source = {s: groups[s if group == 'source' else POOL_GROUP]['threshold'] for s in sources}
    return dict(scale=scale, by_source=by_source, groups=groups)


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

    ``dataset_value`` is the already computed dataset-level value of the map's group (its
    source's, or the pool's), required for ``mean_max``.
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
