"""Datasets, converters and transforms (registered into mmdet / mmyolo / mmpretrain)."""
from agssp.datasets import pseudo_box_dataset  # noqa: F401  (registration)
