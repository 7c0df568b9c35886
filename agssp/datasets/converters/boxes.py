"""The one rule for accepting a box into a COCO file: finite, non-empty, inside its image."""
import math

# Coordinates this far (in pixels) past the image border are rounding noise and are clipped;
# anything further out makes the box an error.
EDGE_TOLERANCE_PX = 0.01


class BoxError(ValueError):
    """A box that cannot be used; the message starts with the kind of problem."""


def checked_box(x1, y1, x2, y2, width, height):
    """Return the ``xyxy`` box (pixels, continuous coordinates) clipped to the image border.

    Raises :class:`BoxError` for a non-finite or degenerate box (``x2 <= x1`` or ``y2 <= y1``) and
    for a box reaching more than :data:`EDGE_TOLERANCE_PX` outside ``[0, width] x [0, height]``.
    """
    box = tuple(float(v) for v in (x1, y1, x2, y2))
    if not all(math.isfinite(v) for v in box):
        raise BoxError(f'non-finite box: {box}')
    x1, y1, x2, y2 = box
    if x2 <= x1 or y2 <= y1:
        raise BoxError(f'degenerate box: {box} has x2 <= x1 or y2 <= y1')
    tol = EDGE_TOLERANCE_PX
    if x1 < -tol or y1 < -tol or x2 > width + tol or y2 > height + tol:
        raise BoxError(f'box outside the image: {box} is not within {width}x{height} (w x h)')
    return max(x1, 0.0), max(y1, 0.0), min(x2, float(width)), min(y2, float(height))
