"""Defect-free grey metal-like textures (rolled, brushed, cast) under uneven lighting."""
import cv2
import numpy as np


def _smooth_noise(rng, size, scale):
    """Gaussian-smoothed white noise with unit standard deviation; ``scale`` in pixels."""
    noise = rng.standard_normal((size, size)).astype(np.float32)
    noise = cv2.GaussianBlur(noise, (0, 0), sigmaX=scale)
    return noise / (noise.std() + 1e-6)


def _rolled(rng, size):
    """Hot-rolled strip: streaks along the rolling direction plus fine scale."""
    streaks = cv2.GaussianBlur(rng.standard_normal((size, size)).astype(np.float32), (0, 0),
                               sigmaX=size / 4, sigmaY=0.8)
    streaks /= streaks.std() + 1e-6
    return 0.8 * streaks + 0.35 * _smooth_noise(rng, size, 1.2)


def _brushed(rng, size):
    """Brushed finish: fine parallel grooves at a random angle."""
    noise = rng.standard_normal((size, size)).astype(np.float32)
    length = int(size * 0.25) | 1
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0 / length
    rot = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), rng.uniform(0, 180), 1.0)
    kernel = cv2.warpAffine(kernel, rot, (length, length))
    grooves = cv2.filter2D(noise, -1, kernel / max(kernel.sum(), 1e-6), borderType=cv2.BORDER_REFLECT)
    grooves /= grooves.std() + 1e-6
    return grooves + 0.2 * _smooth_noise(rng, size, 6)


def _cast(rng, size):
    """Cast surface: blotchy low-frequency variation with granular speckle."""
    return 0.7 * _smooth_noise(rng, size, size / 12) + 0.6 * _smooth_noise(rng, size, 0.8)


SURFACE_KINDS = {'rolled': _rolled, 'brushed': _brushed, 'cast': _cast}


def lighting_field(rng, size):
    """A smooth multiplicative illumination field: a tilted plane times a soft vignette."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    gx, gy = rng.uniform(-0.35, 0.35, 2)
    plane = 1.0 + gx * xx + gy * yy
    cx, cy = rng.uniform(-0.3, 0.3, 2)
    vignette = 1.0 - rng.uniform(0.0, 0.35) * ((xx - cx) ** 2 + (yy - cy) ** 2) * 2
    return plane * vignette


def render_surface(rng: np.random.Generator, size: int, kind: str = None) -> np.ndarray:
    """A float32 grey surface in [0, 255], shape (size, size); ``kind`` random when None."""
    kind = kind or rng.choice(sorted(SURFACE_KINDS))
    if kind not in SURFACE_KINDS:
        raise KeyError(f'unknown surface kind {kind!r}; known: {sorted(SURFACE_KINDS)}')
    texture = SURFACE_KINDS[kind](rng, size)
    base, contrast = rng.uniform(95, 150), rng.uniform(9, 18)
    grey = (base + contrast * texture) * lighting_field(rng, size)
    return np.clip(grey, 0, 255).astype(np.float32)
