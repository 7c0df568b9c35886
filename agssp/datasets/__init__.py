"""Registered datasets and transforms (mmdet / mmyolo / mmpretrain); converters in :mod:`.converters`."""
from agssp.datasets import anomaly_map_dataset, strict_coco, transforms  # noqa: F401
