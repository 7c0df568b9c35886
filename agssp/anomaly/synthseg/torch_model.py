"""The segmentation network of SynthSeg: a small residual encoder, a global-context branch and a
top-down decoder that predicts defect logits at 1/4 of the input resolution.

Large smooth defects need context far beyond a pixel's neighbourhood, so the deepest stage
(1/32) is summarised by pooling at several grid sizes (1x1, 2x2, 4x4) and broadcast back; the
decoder merges that context into every finer level.
"""
from typing import Dict, Sequence

import torch
import torch.nn.functional as F
from torch import nn


class ConvBNReLU(nn.Sequential):
    """3x3 (or k x k) convolution, batch norm, ReLU."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1,
                 dilation: int = 1):
        super().__init__(
            nn.Conv2d(cin, cout, kernel, stride, padding=dilation * (kernel // 2),
                      dilation=dilation, bias=False),
            nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with an identity shortcut."""

    def __init__(self, channels: int, dilation: int = 1):
        super().__init__()
        self.conv1 = ConvBNReLU(channels, channels, dilation=dilation)
        self.conv2 = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=dilation, dilation=dilation, bias=False),
            nn.BatchNorm2d(channels))

    def forward(self, x):
        return F.relu(x + self.conv2(self.conv1(x)))


class PyramidContext(nn.Module):
    """Average-pool the input to several grid sizes, project, upsample and concatenate."""

    def __init__(self, channels: int, out_channels: int, grids: Sequence[int] = (1, 2, 4)):
        super().__init__()
        self.grids = tuple(grids)
        branch = max(8, channels // len(self.grids))
        self.branches = nn.ModuleList(
            nn.Sequential(nn.Conv2d(channels, branch, 1, bias=False), nn.ReLU(inplace=True))
            for _ in self.grids)
        self.fuse = ConvBNReLU(channels + branch * len(self.grids), out_channels, kernel=1)

    def forward(self, x):
        size = x.shape[-2:]
        pooled = [F.interpolate(branch(F.adaptive_avg_pool2d(x, grid)), size=size,
                                mode='bilinear', align_corners=False)
                  for grid, branch in zip(self.grids, self.branches)]
        return self.fuse(torch.cat([x, *pooled], dim=1))


class SynthSegNet(nn.Module):
    """Encoder (strides 2, 4, 8, 16, 32) + pyramid context + top-down decoder to stride 4.

    Args:
        in_channels: input channels (1: normalised grey level).
        widths: channels of the five encoder stages.
        decoder_channels: channels of the decoder levels.

    ``forward`` returns ``logits`` (B, 1, H/4, W/4) and ``features``: the decoder levels at
    strides 4, 8 and 16 (B, decoder_channels, ...), reused by the feature memory.
    """

    def __init__(self, in_channels: int = 1, widths: Sequence[int] = (16, 32, 64, 96, 128),
                 decoder_channels: int = 48):
        super().__init__()
        if len(widths) != 5:
            raise ValueError(f'widths must give 5 stage widths, got {widths}')
        w = list(widths)
        self.stem = nn.Sequential(ConvBNReLU(in_channels, w[0], stride=2), ConvBNReLU(w[0], w[0]))
        self.stages = nn.ModuleList([
            nn.Sequential(ConvBNReLU(w[0], w[1], stride=2), ResidualBlock(w[1])),
            nn.Sequential(ConvBNReLU(w[1], w[2], stride=2), ResidualBlock(w[2])),
            nn.Sequential(ConvBNReLU(w[2], w[3], stride=2), ResidualBlock(w[3], dilation=2)),
            nn.Sequential(ConvBNReLU(w[3], w[4], stride=2), ResidualBlock(w[4], dilation=2)),
        ])
        d = int(decoder_channels)
        self.context = PyramidContext(w[4], d)
        self.laterals = nn.ModuleList(nn.Conv2d(c, d, 1) for c in w[1:4])
        self.smooth = nn.ModuleList(ConvBNReLU(d, d) for _ in range(3))
        self.head = nn.Sequential(ConvBNReLU(d, d), nn.Conv2d(d, 1, 1))
        self.out_stride = 4

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        feats = []
        h = self.stem(x)
        for stage in self.stages:
            h = stage(h)
            feats.append(h)
        top = self.context(feats[3])
        levels = []
        for i in (2, 1, 0):       # strides 16, 8, 4
            lateral = self.laterals[i](feats[i])
            top = F.interpolate(top, size=lateral.shape[-2:], mode='bilinear',
                                align_corners=False)
            top = self.smooth[i](lateral + top)
            levels.append(top)
        return dict(logits=self.head(top), features=levels[::-1])
