"""Packing the anomaly map into the data sample (the field
:data:`~agssp.core.anomaly_maps.ANOMALY_MAP_FIELD`)."""
import numpy as np
import torch
from mmpretrain.datasets.transforms import PackInputs

from agssp.core.anomaly_maps import ANOMALY_MAP_FIELD
from agssp.registry import MMPRETRAIN_TRANSFORMS, register_into


@register_into(MMPRETRAIN_TRANSFORMS)
class PackAnomalyInputs(PackInputs):
    """mmpretrain's ``PackInputs`` plus ``gt_seg_map`` as a float (1, H, W) tensor field
    ``anomaly_map`` of the data sample (a data field: moved to the device with the batch)."""

    def transform(self, results: dict) -> dict:
        packed = super().transform(results)
        seg_map = results.get('gt_seg_map')
        if seg_map is not None:
            tensor = torch.from_numpy(np.ascontiguousarray(seg_map, dtype=np.float32))[None]
            packed['data_samples'].set_field(tensor, ANOMALY_MAP_FIELD)
        return packed
