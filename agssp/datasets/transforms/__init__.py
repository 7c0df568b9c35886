"""Transforms for anomaly-map pretraining: load the map, move it with the image, pack it."""
from agssp.core.anomaly_maps import ANOMALY_MAP_FIELD, stack_anomaly_maps
from agssp.datasets.transforms.formatting import PackAnomalyInputs
from agssp.datasets.transforms.geometric import RandomResizedCropWithMap
from agssp.datasets.transforms.loading import LoadAnomalyMap
from agssp.datasets.transforms.wrappers import MultiViewWithMap

__all__ = ['ANOMALY_MAP_FIELD', 'LoadAnomalyMap', 'MultiViewWithMap', 'PackAnomalyInputs',
           'RandomResizedCropWithMap', 'stack_anomaly_maps']
