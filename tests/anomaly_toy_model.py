"""A tiny deterministic anomaly-map method for the generator's tests (test-only registry name).

The map is the local contrast of the grey image: |grey - 5x5 box mean|, pooled 4x4. It can
sleep per batch so a test can kill a run midway. Subprocess runs load it through a config's
``custom_imports=dict(imports=['anomaly_toy_model'])`` with this folder on PYTHONPATH.
"""
import time

import torch
import torch.nn.functional as F

from agssp.anomaly.base import AnomalyMapModel
from agssp.anomaly.registry import ANOMALY_MODELS


@ANOMALY_MODELS.register_module(name='ToyLocalContrastMap', force=True)
class ToyLocalContrastMap(AnomalyMapModel):

    def __init__(self, input_size=(32, 32), sleep_per_batch=0.0):
        super().__init__()
        self.input_size = tuple(input_size)
        self.sleep_per_batch = float(sleep_per_batch)
        self.scale = torch.nn.Parameter(torch.ones(()))
        self.reference_mean = None

    def fit(self, images):
        self.reference_mean = images.mean()

    def forward(self, images):
        if self.sleep_per_batch:
            time.sleep(self.sleep_per_batch)
        grey = images.mean(dim=1, keepdim=True) / 255.0
        contrast = (grey - F.avg_pool2d(grey, 5, stride=1, padding=2,
                                        count_include_pad=False)).abs()
        amap = F.avg_pool2d(contrast, 4).squeeze(1) * self.scale
        return dict(anomaly_map=amap, image_score=amap.flatten(1).amax(1))
