"""Datasets, converters and transforms (registered into mmdet / mmyolo / mmpretrain)."""
