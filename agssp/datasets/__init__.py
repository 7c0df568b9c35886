"""Registered datasets and transforms (mmdet / mmyolo / mmpretrain); the converters are in
:mod:`.converters`."""
from agssp.datasets import anomaly_map_dataset, strict_coco, transforms  # noqa: F401
