"""A COCO detection dataset that refuses a class list not matching its annotation file.

mmdet's ``CocoDataset`` keeps the categories named in ``metainfo['classes']`` and drops every
other annotation without a word: a class list spelt differently from the file (``'Sc'`` for
``'scratch'``) trains on nothing. ``StrictCocoDataset`` (mmyolo's ``YOLOv5CocoDataset``, so
Mosaic works, registered in mmdet and mmyolo) first compares the two and stops with both lists.
"""
import json

from mmengine.fileio import get_local_path
from mmyolo.datasets import YOLOv5CocoDataset

from agssp.registry import DETECTION_DATASETS, register_into


class ClassMismatchError(ValueError):
    """The configured classes and the annotation file's categories differ."""


def check_coco_classes(categories, classes, ann_file):
    """Raise :class:`ClassMismatchError` unless the COCO ``categories`` names are ``classes``
    (in any order)."""
    names = [c['name'] for c in categories]
    absent = [c for c in classes if c not in names]
    unlisted = [n for n in names if n not in classes]
    if absent or unlisted:
        raise ClassMismatchError(
            f'{ann_file}: the config\'s classes do not match the file\'s categories: '
            f'not in the file {absent}, not in the config {unlisted} (file categories: '
            f'{names}); fix the class names of the dataset base or the annotation file')


@register_into(*DETECTION_DATASETS)
class StrictCocoDataset(YOLOv5CocoDataset):
    """``YOLOv5CocoDataset`` whose ``metainfo['classes']`` must name exactly the categories of
    ``ann_file``."""

    def load_data_list(self):
        with get_local_path(self.ann_file, backend_args=self.backend_args) as path:
            with open(path) as f:
                categories = json.load(f).get('categories', [])
        check_coco_classes(categories, self.metainfo['classes'], self.ann_file)
        return super().load_data_list()
