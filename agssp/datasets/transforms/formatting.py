"""How the anomaly map travels from the pipeline to the model: one data-sample field."""
import numpy as np
import torch
from mmpretrain.datasets.transforms import PackInputs

from agssp.registry import MMPRETRAIN_TRANSFORMS, register_into

ANOMALY_MAP_FIELD = 'anomaly_map'


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


def stack_anomaly_maps(data_samples) -> torch.Tensor:
    """The batch's packed anomaly maps as one (B, 1, H, W) tensor."""
    maps = []
    for sample in data_samples:
        if ANOMALY_MAP_FIELD not in sample:
            raise KeyError(f"{sample.get('img_path', '<sample>')}: no anomaly map in the data "
                           'sample; the pipeline needs LoadAnomalyMap and PackAnomalyInputs')
        maps.append(getattr(sample, ANOMALY_MAP_FIELD))
    shapes = {tuple(m.shape) for m in maps}
    if len(shapes) != 1:
        raise ValueError(f'anomaly maps of one batch differ in size: {sorted(shapes)}; '
                         'the pipeline must bring every sample to the same input size')
    return torch.stack(maps).float()
