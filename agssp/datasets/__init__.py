"""Datasets, converters and transforms (registered into mmdet / mmyolo / mmpretrain)."""
from agssp.datasets import anomaly_map_dataset, pseudo_box_dataset, transforms  # noqa: F401
