"""Synthetic surface defects pasted into defect-free-looking grey images, with pixel masks.

Every generator takes a grey image (H, W) float32 in [0, 255] and a numpy ``Generator`` and
returns the changed image and the boolean region it meant to change. :class:`SyntheticDefects`
picks generators at random and then trims the mask to where the image really changed
(:func:`visible_change_mask`), so a label never marks a pixel the defect left unchanged.

Kinds (the keys of :data:`GENERATORS` and of ``SyntheticDefects(weights=...)``):
    * ``uneven``: a large smooth region (low-frequency blob or a band from an image edge) under a
      multiplicative gain field, sometimes with its texture smoothed - large low-contrast areas.
    * ``crack``: thin dark (sometimes bright) random-walk polylines.
    * ``pit``: small dark or bright elliptic spots with a soft profile.
    * ``paste``: a region of another image, flipped/shifted in grey level, under a Perlin-like
      mask (CutPaste / NSA / DRAEM in spirit).
    * ``blur``: a region blurred or sharpened.
    * ``edge_chunk``: a chunk missing at an image edge, filled with a dark or bright flat value.
"""
from typing import Callable, Dict, Optional, Sequence, Tuple

import cv2
import numpy as np

Image = np.ndarray


def smooth_noise(shape: Tuple[int, int], rng: np.random.Generator, cells: float) -> np.ndarray:
    """Smooth random field (H, W) scaled to [0, 1]; about ``cells`` blobs along the short side."""
    h, w = shape
    cells = max(float(cells), 1.0)
    gh = max(2, int(round(cells * h / min(h, w))) + 1)
    gw = max(2, int(round(cells * w / min(h, w))) + 1)
    field = cv2.resize(rng.random((gh, gw), dtype=np.float32), (w, h),
                       interpolation=cv2.INTER_CUBIC)
    lo, hi = float(field.min()), float(field.max())
    return (field - lo) / max(hi - lo, 1e-6)


def smooth_curve(length: int, rng: np.random.Generator, knots: float) -> np.ndarray:
    """Smooth random 1-D curve of ``length`` values in [0, 1] through about ``knots`` knots."""
    count = max(2, int(round(knots)) + 1)
    curve = cv2.resize(rng.random((1, count), dtype=np.float32), (length, 1),
                       interpolation=cv2.INTER_CUBIC)[0]
    lo, hi = float(curve.min()), float(curve.max())
    return (curve - lo) / max(hi - lo, 1e-6)


def perlin_like_mask(shape, rng: np.random.Generator, cells: float, area: float) -> np.ndarray:
    """Boolean mask covering about ``area`` of the image, the top of a sum of two noise octaves."""
    field = smooth_noise(shape, rng, cells) + 0.35 * smooth_noise(shape, rng, cells * 3)
    return field >= np.quantile(field, 1.0 - float(np.clip(area, 1e-3, 0.95)))


def edge_band_mask(shape, rng: np.random.Generator, depth: float, wobble: float) -> np.ndarray:
    """Region between one image edge and a wavy line ``depth`` (fraction of the side) inside."""
    h, w = shape
    side = int(rng.integers(4))
    length, across = (w, h) if side in (0, 1) else (h, w)
    t = np.linspace(0.0, 1.0, length, dtype=np.float32)
    line = depth + rng.uniform(-0.5, 0.5) * wobble * t
    line = line + wobble * (smooth_curve(length, rng, rng.uniform(1, 4)) - 0.5)
    limit = np.clip(line, 0.02, 0.9) * across
    pos = np.arange(across, dtype=np.float32)[:, None]
    band = pos < limit[None, :]          # (across, length), from the near edge
    if side in (1, 3):
        band = band[::-1]
    return band if side in (0, 1) else band.T


def soft(mask: np.ndarray, sigma: float) -> np.ndarray:
    """A boolean mask as float weights with edges blurred by ``sigma`` pixels (0: hard)."""
    weight = mask.astype(np.float32)
    if sigma > 0.3:
        weight = cv2.GaussianBlur(weight, (0, 0), sigma)
    return weight


def _scale(image: Image) -> float:
    """Pixel scale of an image relative to 256 (generators think in 256-pixel units)."""
    return min(image.shape) / 256.0


def uneven(image: Image, rng: np.random.Generator, pool=None) -> Tuple[Image, np.ndarray]:
    """Large smooth region under a low-frequency gain (and sometimes smoother texture)."""
    shape = image.shape
    if rng.random() < 0.5:
        mask = edge_band_mask(shape, rng, rng.uniform(0.1, 0.5), rng.uniform(0.0, 0.3))
    else:
        mask = perlin_like_mask(shape, rng, rng.uniform(1.0, 2.5), rng.uniform(0.08, 0.45))
    gain_field = 0.5 + 0.5 * smooth_noise(shape, rng, rng.uniform(1, 3))
    gain = 1.0 + rng.choice([-1.0, 1.0]) * rng.uniform(0.12, 0.45) * gain_field
    out = image
    if rng.random() < 0.4:
        sigma = rng.uniform(1.0, 3.0) * _scale(image)
        smoothed = cv2.GaussianBlur(image, (0, 0), sigma)
        out = image + soft(mask, 2.0) * (smoothed - image)
    weight = soft(mask, rng.uniform(0.0, 6.0) * _scale(image))
    out = out * (1.0 + weight * (gain - 1.0))
    return out, mask


def crack(image: Image, rng: np.random.Generator, pool=None) -> Tuple[Image, np.ndarray]:
    """One to three thin random-walk lines, darker (mostly) or brighter than the surface."""
    h, w = image.shape
    s = _scale(image)
    canvas = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(1, 4))):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        angle = rng.uniform(0, 2 * np.pi)
        points = [(x, y)]
        for _ in range(int(rng.integers(4, 25))):
            angle += rng.normal(0, 0.35)
            step = rng.uniform(4, 14) * s
            x, y = x + step * np.cos(angle), y + step * np.sin(angle)
            points.append((x, y))
        pts = np.round(np.array(points) * 4).astype(np.int32)   # 2 fractional bits
        thickness = max(1, int(round(rng.uniform(1, 4) * s)))
        cv2.polylines(canvas, [pts], False, 1.0, thickness, cv2.LINE_AA, shift=2)
    mask = canvas > 0.25
    local = cv2.GaussianBlur(image, (0, 0), 8 * s)
    sign = -1.0 if rng.random() < 0.85 else 1.0
    depth = rng.uniform(0.25, 0.7) * local
    return np.clip(image + sign * depth * canvas, 0, 255), mask


def pit(image: Image, rng: np.random.Generator, pool=None) -> Tuple[Image, np.ndarray]:
    """One to four small elliptic spots with a soft profile (blowholes, pits, inclusions)."""
    h, w = image.shape
    s = _scale(image)
    profile = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(1, 5))):
        spot = np.zeros((h, w), np.float32)
        axes = (max(1, int(rng.uniform(2, 14) * s)), max(1, int(rng.uniform(2, 10) * s)))
        center = (int(rng.integers(w)), int(rng.integers(h)))
        cv2.ellipse(spot, center, axes, rng.uniform(0, 180), 0, 360, 1.0, -1, cv2.LINE_AA)
        profile = np.maximum(profile, cv2.GaussianBlur(spot, (0, 0), max(axes) * 0.3))
    profile /= max(profile.max(), 1e-6)
    mask = profile > 0.3
    local = cv2.GaussianBlur(image, (0, 0), 8 * s)
    sign = -1.0 if rng.random() < 0.75 else 1.0
    return np.clip(image + sign * rng.uniform(0.3, 0.8) * local * profile, 0, 255), mask


def paste(image: Image, rng: np.random.Generator,
          pool: Optional[Sequence[Image]] = None) -> Tuple[Image, np.ndarray]:
    """A region of another image (or of this one, moved), flipped and grey-shifted."""
    h, w = image.shape
    source = image if pool is None or not len(pool) else pool[int(rng.integers(len(pool)))]
    source = np.asarray(source, np.float32)
    if source.shape != image.shape:
        source = cv2.resize(source, (w, h), interpolation=cv2.INTER_LINEAR)
    source = np.roll(source, (int(rng.integers(h)), int(rng.integers(w))), axis=(0, 1))
    if rng.random() < 0.5:
        source = source[:, ::-1]
    if rng.random() < 0.5:
        source = source[::-1]
    if rng.random() < 0.3 and h == w:
        source = source.T
    source = source * rng.uniform(0.6, 1.4) + rng.uniform(-25, 25)
    mask = perlin_like_mask(image.shape, rng, rng.uniform(2, 8), rng.uniform(0.02, 0.3))
    weight = soft(mask, rng.uniform(0.0, 1.5) * _scale(image)) * rng.uniform(0.6, 1.0)
    return np.clip(image + weight * (source - image), 0, 255), mask


def blur(image: Image, rng: np.random.Generator, pool=None) -> Tuple[Image, np.ndarray]:
    """A region blurred or sharpened (unsharp mask)."""
    s = _scale(image)
    mask = perlin_like_mask(image.shape, rng, rng.uniform(1.5, 6), rng.uniform(0.05, 0.35))
    smoothed = cv2.GaussianBlur(image, (0, 0), rng.uniform(1.5, 4.0) * s)
    if rng.random() < 0.6:
        changed = smoothed
    else:
        changed = image + rng.uniform(1.5, 4.0) * (image - smoothed)
    return np.clip(image + soft(mask, 1.5 * s) * (changed - image), 0, 255), mask


def edge_chunk(image: Image, rng: np.random.Generator, pool=None) -> Tuple[Image, np.ndarray]:
    """A chunk missing at an image edge: a flat dark or bright fill with a little noise."""
    h, w = image.shape
    mask = edge_band_mask(image.shape, rng, rng.uniform(0.04, 0.25), rng.uniform(0.1, 0.5))
    mask &= perlin_like_mask(image.shape, rng, rng.uniform(1, 3), rng.uniform(0.3, 0.7))
    level = rng.uniform(0, 40) if rng.random() < 0.7 else rng.uniform(150, 255)
    fill = level + rng.normal(0, rng.uniform(1, 8), (h, w)).astype(np.float32)
    weight = soft(mask, rng.uniform(0.0, 1.5) * _scale(image))
    return np.clip(image + weight * (fill - image), 0, 255), mask


GENERATORS: Dict[str, Callable] = dict(
    uneven=uneven, crack=crack, pit=pit, paste=paste, blur=blur, edge_chunk=edge_chunk)


def visible_change_mask(before: Image, after: Image, intended: np.ndarray,
                        min_change: float) -> np.ndarray:
    """Pixels of ``intended`` (dilated by one pixel) whose relative change is >= min_change.

    The change is ``blur(|after - before|) / (local mean grey level + 8)``, so a region that a
    generator left visually unchanged (e.g. blurring an already smooth patch) is not labelled,
    and a gain change counts as much on a dark surface as on a bright one. A morphological
    closing fills the speckle that a texture change leaves between changed pixels.
    """
    s = _scale(before)
    diff = cv2.GaussianBlur(np.abs(after - before), (0, 0), 1.0 * s)
    local = cv2.GaussianBlur(before, (0, 0), 4.0 * s) + 8.0
    grown = cv2.dilate(intended.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    changed = (diff / local >= min_change).astype(np.uint8)
    size = 2 * max(1, int(round(3 * s))) + 1
    changed = cv2.morphologyEx(changed, cv2.MORPH_CLOSE,
                               cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    return grown & (changed > 0)


class SyntheticDefects:
    """Draw zero or more synthetic defects into a grey image; returns (image, mask).

    Args:
        weights: relative frequency of each generator kind (keys of :data:`GENERATORS`).
        normal_prob: probability of leaving an image untouched (mask all False).
        max_defects: at most this many defects per image (at least one unless normal).
        min_change: relative change below which a pixel is not labelled
            (:func:`visible_change_mask`).
    """

    def __init__(self, weights: Optional[Dict[str, float]] = None, normal_prob: float = 0.25,
                 max_defects: int = 2, min_change: float = 0.04):
        weights = dict(weights or dict(uneven=3, crack=2, pit=1.5, paste=2, blur=1,
                                       edge_chunk=1))
        unknown = set(weights) - set(GENERATORS)
        if unknown:
            raise ValueError(f'unknown synthetic defect kinds {sorted(unknown)}; '
                             f'choose from {sorted(GENERATORS)}')
        if not weights or min(weights.values()) < 0 or sum(weights.values()) <= 0:
            raise ValueError(f'defect weights must be non-negative with a positive sum: {weights}')
        if not 0 <= normal_prob < 1:
            raise ValueError(f'normal_prob must be in [0, 1), got {normal_prob}')
        self.kinds = list(weights)
        total = float(sum(weights.values()))
        self.probs = np.array([weights[k] / total for k in self.kinds])
        self.normal_prob = float(normal_prob)
        self.max_defects = int(max_defects)
        self.min_change = float(min_change)

    def __call__(self, image: Image, rng: np.random.Generator,
                 pool: Optional[Sequence[Image]] = None) -> Tuple[Image, np.ndarray]:
        image = np.asarray(image, np.float32)
        mask = np.zeros(image.shape, bool)
        if rng.random() < self.normal_prob:
            return image.copy(), mask
        out = image
        for _ in range(int(rng.integers(1, self.max_defects + 1))):
            kind = self.kinds[int(rng.choice(len(self.kinds), p=self.probs))]
            out, intended = GENERATORS[kind](out, rng, pool)
            out = np.clip(out, 0, 255).astype(np.float32)
            mask |= intended
        return out, visible_change_mask(image, out, mask, self.min_change)
