"""Anomaly-map metrics: image AUROC, pixel AUROC, pixel AP and AUPRO, overall and per class.

Definitions
    * image AUROC: an image is anomalous when its mask has a positive pixel; its score is the
      map maximum unless a score is given (e.g. the method's own ``image_score``).
    * pixel AUROC / pixel AP: over all mask pixels of all images, the map brought to the mask
      size by :func:`agssp.core.anomaly_maps.resize_map`.
    * AUPRO: the per-region-overlap curve of MVTec AD. Ground-truth regions are the
      8-connected components of each mask. At a threshold ``t`` the PRO is the mean over all
      regions of the fraction of the region's pixels with score >= ``t``; the FPR is the fraction
      of all negative pixels with score >= ``t``. The curve (FPR, PRO) is integrated with the
      trapezoid rule from FPR 0 to ``max_fpr`` (0.3; the point at ``max_fpr`` is interpolated
      linearly) and divided by ``max_fpr``, so a perfect map scores 1.

Pixel AUROC and AP are scikit-learn's ``roc_auc_score`` and ``average_precision_score`` with
the pixels' weights as ``sample_weight``; AUPRO is the one curve written here: FPR and PRO are
weighted cumulative sums over the pixels sorted by score (a region pixel weighs
``1 / (region size * number of regions)`` in the PRO), exact at every distinct score, without a
threshold grid (:func:`pixel_metrics`).

Bounded memory: per image at most ``max_pixels`` negative pixels and, per region, at most
``max_pixels`` region pixels are kept, drawn at random with a seed derived from the image name
(deterministic, independent of the order images arrive in); kept pixels carry the weight of the
pixels they stand for, so the metrics stay unbiased. The result's ``settings`` say how many
images were subsampled; with ``max_pixels=None`` every pixel is kept and the metrics are exact.
"""
import math
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Dict, List, Optional

import cv2
import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from agssp.core.anomaly_maps import resize_map

METRIC_NAMES = ('image_auroc', 'pixel_auroc', 'pixel_ap', 'aupro')
DEFAULT_MAX_PIXELS = 2 ** 14


def _both_labels(labels) -> bool:
    labels = np.asarray(labels, dtype=bool)
    return bool(labels.any() and not labels.all())


def auroc(labels, scores, weights=None) -> float:
    """Area under the ROC curve; NaN when only one label is present."""
    if not _both_labels(labels):
        return math.nan
    return float(roc_auc_score(np.asarray(labels, dtype=bool), scores, sample_weight=weights))


def mask_regions(mask: np.ndarray):
    """Ground-truth regions of a boolean mask: (number of regions, int32 label image, 0 = none)."""
    count, labels = cv2.connectedComponents(np.asarray(mask, dtype=np.uint8), connectivity=8)
    return count - 1, labels


def _trapezoid_to(x: np.ndarray, y: np.ndarray, x_max: float) -> float:
    """Trapezoid area under (x, y), x ascending, from x[0] up to ``x_max`` (interpolated)."""
    keep = x <= x_max
    xs, ys = x[keep], y[keep]
    if not keep.all():
        i = int(np.argmin(keep))
        y_at = np.interp(x_max, x[i - 1:i + 1], y[i - 1:i + 1]) if i > 0 else y[0]
        xs, ys = np.append(xs, x_max), np.append(ys, y_at)
    return float(np.sum((xs[1:] - xs[:-1]) * (ys[1:] + ys[:-1]) / 2))


def _sorted_pixel_metrics(scores: np.ndarray, weights: np.ndarray, is_positive: np.ndarray,
                          shares: np.ndarray, max_fpr: float) -> Dict:
    """Pixel AUROC and AP (scikit-learn, weighted) and AUPRO of pixels sorted by descending score.

    ``weights``: pixels each kept pixel stands for; ``shares``: each positive's share of its
    region (a region's shares sum to 1). AUPRO: at every distinct score ``t`` (anomalous when
    score >= t) the weighted false positives and the PRO are cumulated, as the module docstring
    says. NaN where negatives or positives are missing.
    """
    if is_positive.all() or not is_positive.any():
        return dict(pixel_auroc=math.nan, pixel_ap=math.nan, aupro=math.nan)
    run_ends = _run_ends(scores)
    fp = np.cumsum(np.where(is_positive, 0, weights), dtype=np.float64)[run_ends]
    pro = np.cumsum(shares, dtype=np.float64)[run_ends]
    pro /= pro[-1]  # the shares of all regions sum to the number of regions
    fpr = np.r_[0.0, fp / fp[-1]]
    return dict(pixel_auroc=float(roc_auc_score(is_positive, scores, sample_weight=weights)),
                pixel_ap=float(average_precision_score(is_positive, scores,
                                                       sample_weight=weights)),
                aupro=_trapezoid_to(fpr, np.r_[0.0, pro], max_fpr) / max_fpr)


def _run_ends(sorted_scores: np.ndarray) -> np.ndarray:
    """Index of the last element of each run of equal values."""
    return np.r_[np.flatnonzero(sorted_scores[1:] != sorted_scores[:-1]), sorted_scores.size - 1]


def pixel_metrics(scores: np.ndarray, is_positive: np.ndarray, weights=None, shares=None,
                  max_fpr: float = 0.3) -> Dict[str, float]:
    """Pixel AUROC, pixel AP and AUPRO of a set of pixels.

    Args:
        scores, is_positive: per pixel.
        weights: how many pixels each one stands for (default 1).
        shares: per positive pixel, its share of its region's PRO; a region's shares sum to 1
            (default: all positives form one region).
    """
    scores = np.asarray(scores, dtype=np.float32)
    is_positive = np.asarray(is_positive, dtype=bool)
    weights = np.ones(scores.size, np.float32) if weights is None else np.asarray(weights)
    if shares is None:
        shares = is_positive / max(int(is_positive.sum()), 1)
    order = np.argsort(-scores)
    return _sorted_pixel_metrics(scores[order], weights[order], is_positive[order],
                                 np.asarray(shares)[order], max_fpr)


@dataclass
class _ImageRecord:
    """What one image contributes: its score and label, and its kept (weighted) pixels."""
    cls: str
    score: float
    anomalous: bool
    negatives: np.ndarray
    negative_weight: float
    positives: np.ndarray
    positive_weights: np.ndarray   # pixels each kept positive stands for
    region_shares: np.ndarray      # 1 / (kept pixels of its region), per kept positive
    num_regions: int
    num_pixels: int
    subsampled: bool


def _sample(rng, n: int, cap: Optional[int]) -> Optional[np.ndarray]:
    """Indices of a random subset of size ``cap`` of range(n), or None to keep all."""
    if cap is None or n <= cap:
        return None
    return np.sort(rng.choice(n, size=cap, replace=False))


class AnomalyMetricAccumulator:
    """Collect (map, mask) pairs one image at a time, then compute every metric.

    Args:
        max_fpr: upper FPR bound of AUPRO.
        max_pixels: per image, the most negative pixels (and, per region, region pixels) kept;
            None keeps all (exact, memory grows with the data).
        normal_class: a class holding only defect-free images (Magnetic Tile: ``MT_Free``).
            Each other class is then evaluated on its images plus this class's images, and this
            class gets no row of its own.
        seed: base seed of the per-image pixel subsampling.
    """

    def __init__(self, max_fpr: float = 0.3, max_pixels: Optional[int] = DEFAULT_MAX_PIXELS,
                 normal_class: Optional[str] = None, seed: int = 0):
        if not 0 < max_fpr <= 1:
            raise ValueError(f'max_fpr must be in (0, 1], got {max_fpr}')
        self.max_fpr = float(max_fpr)
        self.max_pixels = None if max_pixels is None else int(max_pixels)
        self.normal_class = normal_class
        self.seed = int(seed)
        self.records: List[_ImageRecord] = []
        self.given_scores = 0

    def add(self, anomaly_map: np.ndarray, mask: np.ndarray, name: str, cls: str = 'all',
            score: Optional[float] = None) -> None:
        """Add one image: its map (any size), its boolean mask and, optionally, its score."""
        mask = np.asarray(mask, dtype=bool)
        if mask.ndim != 2:
            raise ValueError(f'{name}: mask must be 2-D, got shape {mask.shape}')
        pixel_map = resize_map(anomaly_map, mask.shape)
        if score is None:
            score = float(np.max(anomaly_map))
        else:
            self.given_scores += 1
        rng = np.random.default_rng([self.seed, zlib.crc32(str(name).encode('utf-8'))])
        negatives = pixel_map[~mask]
        pick = _sample(rng, negatives.size, self.max_pixels)
        subsampled = pick is not None
        negative_weight = 1.0 if pick is None else negatives.size / pick.size
        if pick is not None:
            negatives = negatives[pick]
        num_regions, labels = mask_regions(mask)
        positives, positive_weights, shares = [], [], []
        for region in range(1, num_regions + 1):
            scores = pixel_map[labels == region]
            pick = _sample(rng, scores.size, self.max_pixels)
            kept = scores if pick is None else scores[pick]
            subsampled |= pick is not None
            positives.append(kept)
            positive_weights.append(np.full(kept.size, scores.size / kept.size, np.float32))
            shares.append(np.full(kept.size, 1.0 / kept.size, np.float32))
        self.records.append(_ImageRecord(
            cls=str(cls), score=float(score), anomalous=bool(mask.any()),
            negatives=negatives.astype(np.float32), negative_weight=float(negative_weight),
            positives=np.concatenate(positives) if positives else np.zeros(0, np.float32),
            positive_weights=(np.concatenate(positive_weights) if positive_weights
                              else np.zeros(0, np.float32)),
            region_shares=np.concatenate(shares) if shares else np.zeros(0, np.float32),
            num_regions=int(num_regions), num_pixels=int(mask.size), subsampled=subsampled))

    def _sorted_pixels(self):
        """Every kept pixel of every image, sorted once by descending score."""
        parts = [(np.concatenate([r.negatives, r.positives]),
                  np.concatenate([np.full(r.negatives.size, r.negative_weight, np.float32),
                                  r.positive_weights]),
                  np.concatenate([np.zeros(r.negatives.size, np.float32), r.region_shares]),
                  np.full(r.negatives.size + r.positives.size, i, np.int32))
                 for i, r in enumerate(self.records)]
        scores, weights, shares, image_index = (np.concatenate(a) for a in zip(*parts))
        del parts
        order = np.argsort(-scores)
        return dict(scores=scores[order], weights=weights[order], shares=shares[order],
                    image_index=image_index[order])

    def _metrics(self, members: np.ndarray, pixels: dict) -> dict:
        """Metrics of the images whose indices are ``members``, from the sorted pixels."""
        records = [self.records[i] for i in members]
        if len(members) == len(self.records):
            group = pixels
        else:
            selected = np.zeros(len(self.records), bool)
            selected[members] = True
            keep = selected[pixels['image_index']]
            group = {k: v[keep] for k, v in pixels.items() if k != 'image_index'}
        labels = np.array([r.anomalous for r in records], dtype=bool)
        num_regions = sum(r.num_regions for r in records)
        is_positive = group['shares'] > 0  # every region pixel has a share, negatives none
        curves = _sorted_pixel_metrics(group['scores'], group['weights'], is_positive,
                                       group['shares'], self.max_fpr)
        return OrderedDict(
            image_auroc=auroc(labels, [r.score for r in records]), **curves,
            images=len(records), anomalous_images=int(labels.sum()), regions=int(num_regions),
            pixels=int(sum(r.num_pixels for r in records)), kept_pixels=int(group['scores'].size))

    def classes(self) -> List[str]:
        """Classes with a row of their own, sorted."""
        return sorted({r.cls for r in self.records} - {self.normal_class})

    def compute(self) -> Dict:
        """``overall``, ``per_class``, ``mean_over_classes`` metrics and the ``settings`` used."""
        if not self.records:
            raise ValueError('no images were added: nothing to evaluate')
        pixels = self._sorted_pixels()
        cls_of = np.array([r.cls for r in self.records])
        normals = cls_of == self.normal_class
        per_class = OrderedDict()
        for cls in self.classes():
            per_class[cls] = self._metrics(np.flatnonzero((cls_of == cls) | normals), pixels)
        mean = OrderedDict()
        for name in METRIC_NAMES:
            values = [m[name] for m in per_class.values() if not math.isnan(m[name])]
            mean[name] = float(np.mean(values)) if values else math.nan
        return dict(
            overall=self._metrics(np.arange(len(self.records)), pixels),
            per_class=per_class,
            mean_over_classes=mean,
            settings=dict(max_fpr=self.max_fpr, max_pixels_per_image=self.max_pixels,
                          subsampled_images=sum(r.subsampled for r in self.records),
                          normal_class=self.normal_class,
                          normal_class_images=int(normals.sum()),
                          image_score='given' if self.given_scores else 'map max',
                          given_scores=self.given_scores, seed=self.seed))


def to_jsonable(results):
    """The results with NaN turned into None (JSON has no NaN)."""
    if isinstance(results, dict):
        return {k: to_jsonable(v) for k, v in results.items()}
    if isinstance(results, float) and math.isnan(results):
        return None
    return results


def format_table(results: Dict) -> str:
    """A plain-text table: one row per class, the class mean and the overall figures."""
    def cell(v):
        return '   n/a' if v is None or (isinstance(v, float) and math.isnan(v)) else f'{v:6.4f}'

    width = max([len('mean over classes'), *(len(c) for c in results['per_class'])])
    head = f'{"class":<{width}}  ' + '  '.join(f'{n:>11}' for n in METRIC_NAMES) + '  images'
    lines = [head, '-' * len(head)]

    def row(name, m, images=''):
        lines.append(f'{name:<{width}}  ' + '  '.join(f'{cell(m[n]):>11}' for n in METRIC_NAMES)
                     + f'  {images:>6}')

    for cls, m in results['per_class'].items():
        row(cls, m, m['images'])
    if results['per_class']:
        row('mean over classes', results['mean_over_classes'])
    row('overall', results['overall'], results['overall']['images'])
    s = results['settings']
    lines.append(f'image score: {s["image_score"]}; AUPRO up to FPR {s["max_fpr"]}')
    if s['subsampled_images']:
        lines.append(f'pixel metrics from a weighted random subsample in {s["subsampled_images"]}'
                     f' images (at most {s["max_pixels_per_image"]} pixels per image / region)')
    if s['normal_class_images']:
        lines.append(f'each class is evaluated with the defect-free class {s["normal_class"]!r}')
    return '\n'.join(lines)
