"""Painting defects onto a surface; each painter returns the exact mask of what it changed."""
import cv2
import numpy as np


def _random_walk(rng, size, start, steps, step_len, turn):
    """Points of a smooth random walk inside the image (for scratches and cracks)."""
    pts = [np.asarray(start, np.float32)]
    angle = rng.uniform(0, 2 * np.pi)
    for _ in range(steps):
        angle += rng.normal(0, turn)
        nxt = pts[-1] + step_len * np.array([np.cos(angle), np.sin(angle)], np.float32)
        pts.append(np.clip(nxt, 2, size - 3))
    return np.round(np.stack(pts)).astype(np.int32)


def _blend(surface, mask_soft, delta):
    """Add ``delta`` (scalar or array) where the soft mask is on."""
    return np.clip(surface + mask_soft * delta, 0, 255)


def scratch(rng, surface):
    """A thin, long, nearly straight bright or dark line."""
    size = surface.shape[0]
    mask = np.zeros_like(surface, np.uint8)
    start = rng.uniform(0.1, 0.9, 2) * size
    pts = _random_walk(rng, size, start, steps=12, step_len=size * rng.uniform(0.03, 0.06),
                       turn=0.08)
    cv2.polylines(mask, [pts], False, 1, thickness=int(rng.integers(1, 3)))
    sign = rng.choice([-1.0, 1.0])
    soft = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 0.7)
    return _blend(surface, soft, sign * rng.uniform(35, 60)), mask


def crack(rng, surface):
    """A dark, jagged line with a short branch."""
    size = surface.shape[0]
    mask = np.zeros_like(surface, np.uint8)
    start = rng.uniform(0.2, 0.8, 2) * size
    main = _random_walk(rng, size, start, steps=20, step_len=size * 0.02, turn=0.6)
    cv2.polylines(mask, [main], False, 1, thickness=2)
    branch = _random_walk(rng, size, main[len(main) // 2], steps=8, step_len=size * 0.02, turn=0.7)
    cv2.polylines(mask, [branch], False, 1, thickness=1)
    soft = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 0.6)
    return _blend(surface, soft, -rng.uniform(45, 70)), mask


def pits(rng, surface):
    """A cluster of small dark round pits."""
    size = surface.shape[0]
    mask = np.zeros_like(surface, np.uint8)
    centre = rng.uniform(0.15, 0.85, 2) * size
    spread = size * rng.uniform(0.03, 0.08)
    for _ in range(int(rng.integers(3, 9))):
        c = np.clip(centre + rng.normal(0, spread, 2), 3, size - 4).astype(int)
        cv2.circle(mask, tuple(int(v) for v in c), int(rng.integers(1, 4)), 1, -1)
    soft = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 0.8)
    return _blend(surface, soft, -rng.uniform(40, 70)), mask


def inclusion(rng, surface):
    """An elongated dark irregular blob, as a non-metallic inclusion rolled out."""
    size = surface.shape[0]
    mask = np.zeros_like(surface, np.uint8)
    centre = tuple(int(v) for v in rng.uniform(0.2, 0.8, 2) * size)
    axes = (int(size * rng.uniform(0.05, 0.14)), int(size * rng.uniform(0.015, 0.035)))
    cv2.ellipse(mask, centre, axes, rng.uniform(0, 180), 0, 360, 1, -1)
    noise = cv2.GaussianBlur(rng.standard_normal(surface.shape).astype(np.float32), (0, 0), 2)
    mask = (mask.astype(bool) & (noise > -0.8)).astype(np.uint8)
    soft = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 1.0)
    return _blend(surface, soft, -rng.uniform(30, 55)), mask


def patch(rng, surface):
    """A large smooth region of different brightness and texture (low contrast edges)."""
    size = surface.shape[0]
    field = cv2.GaussianBlur(rng.standard_normal(surface.shape).astype(np.float32), (0, 0),
                             size / 10)
    field /= field.std() + 1e-6
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    c = rng.uniform(0.25, 0.75, 2) * size
    radius = size * rng.uniform(0.12, 0.22)
    blob = 1.0 - np.hypot(xx - c[0], yy - c[1]) / radius + 0.35 * field
    mask = (blob > 0).astype(np.uint8)
    soft = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 3.0)
    grain = cv2.GaussianBlur(rng.standard_normal(surface.shape).astype(np.float32), (0, 0), 1.5)
    delta = rng.choice([-1.0, 1.0]) * rng.uniform(18, 30) + 6 * grain
    return _blend(surface, soft, delta), mask


DEFECT_PAINTERS = {'scratch': scratch, 'crack': crack, 'pit': pits, 'inclusion': inclusion,
                   'patch': patch}
