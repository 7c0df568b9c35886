"""Datasets, converters and transforms (registered into mmdet / mmyolo / mmpretrain)."""
from agssp.datasets import (anomaly_map_dataset, pseudo_box_dataset, strict_coco,  # noqa: F401
                            transforms)
