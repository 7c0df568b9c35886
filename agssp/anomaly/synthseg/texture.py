"""Hand-made texture statistics on a cell grid: local grey level, contrast and edge energy at
several scales, band-pass energy, and full-width / full-height band statistics.

They see what a small network trained on synthetic defects can miss - a large region whose
brightness or grain differs only slightly from where the same position sits in normal images -
and they need no training. Input: standardised grey images (B, 1, H, W) with H and W divisible
by ``stride``; output (B, :func:`texture_channels`, H / stride, W / stride).
"""
import torch
import torch.nn.functional as F

BOX_SIZES = (1, 2, 4, 8, 16)        # box sides in cells
GRADIENT_BOXES = (1, 2)
BAND_WIDTH = 2                       # band thickness in cells


def texture_channels() -> int:
    """Number of channels :func:`texture_features` returns."""
    return 2 * len(BOX_SIZES) + 2 * len(GRADIENT_BOXES) + 2 + 3 + 2


def _box_mean(x: torch.Tensor, kernel, stride) -> torch.Tensor:
    """Mean over a box centred on each output step (partial boxes at the border)."""
    kh, kw = kernel
    sh, sw = stride
    return F.avg_pool2d(x, (kh, kw), (sh, sw), padding=((kh - sh) // 2, (kw - sw) // 2),
                        count_include_pad=False)


def _cell_box_mean(half_cells: torch.Tensor, cells: int) -> torch.Tensor:
    """Mean over a box of ``cells`` x ``cells`` cells centred on each cell, from the means of
    half-cells (exact: every half-cell holds the same number of pixels)."""
    return F.avg_pool2d(half_cells, 2 * cells, 2, padding=cells - 1, count_include_pad=False)


def texture_features(x: torch.Tensor, stride: int = 8) -> torch.Tensor:
    """Texture statistics of standardised grey images on the ``stride`` cell grid."""
    h, w = x.shape[-2:]
    if stride % 2 or h % stride or w % stride:
        raise ValueError(f'image size {h}x{w} is not divisible by the (even) cell size {stride}')
    gh, gw = h // stride, w // stride
    half = stride // 2
    mean1, mean2 = F.avg_pool2d(x, half), F.avg_pool2d(x * x, half)
    feats = []
    for cells in BOX_SIZES:
        mean = _cell_box_mean(mean1, cells)
        var = (_cell_box_mean(mean2, cells) - mean ** 2).clamp(min=0)
        feats += [mean, var.sqrt()]
    grad_x = F.avg_pool2d(F.pad((x[..., :, 1:] - x[..., :, :-1]).abs(), (0, 1)), half)
    grad_y = F.avg_pool2d(F.pad((x[..., 1:, :] - x[..., :-1, :]).abs(), (0, 0, 0, 1)), half)
    for cells in GRADIENT_BOXES:
        feats += [_cell_box_mean(grad_x, cells), _cell_box_mean(grad_y, cells)]
    for step in (2, 4):              # band-pass energy: one octave below the cell, two octaves
        fine = F.avg_pool2d(x, 2 * step, step)
        coarse = F.interpolate(F.avg_pool2d(fine, 2), size=fine.shape[-2:], mode='bilinear',
                               align_corners=False)
        feats.append(F.interpolate((fine - coarse).abs(), size=(gh, gw), mode='area'))
    band, step = (BAND_WIDTH * stride, 1), (stride, 1)
    rows_mean = _box_mean(x.mean(3, keepdim=True), band, step)
    rows_std = _box_mean(x.std(3, keepdim=True), band, step)
    cols_mean = _box_mean(x.mean(2, keepdim=True), band[::-1], step[::-1])
    feats += [rows_mean.expand(-1, -1, gh, gw), rows_std.expand(-1, -1, gh, gw),
              cols_mean.expand(-1, -1, gh, gw)]
    low = F.avg_pool2d(F.avg_pool2d(x, stride), 3, 1, 1, count_include_pad=False)
    low = F.pad(low, (1, 1, 1, 1), mode='replicate')
    feats += [low[..., 2:, 1:-1] - low[..., :-2, 1:-1], low[..., 1:-1, 2:] - low[..., 1:-1, :-2]]
    return torch.cat(feats, dim=1)
