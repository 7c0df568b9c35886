"""Converters from public defect-dataset layouts to COCO, and seeded splits of COCO files.

VOC XML (:mod:`.voc`), pixel masks (:mod:`.masks`), YOLO txt (:mod:`.yolo`), train/val and
labelled-fraction splits (:mod:`.split`). Every converter returns a
:class:`~agssp.core.coco.CocoWriter` whose ``skipped`` list names each bad input.
"""
from agssp.core.coco import BoxError, checked_box
from agssp.core.images import ImageIndex, ImageReadError, read_image_size
from agssp.datasets.converters.masks import mask_to_boxes, masks_to_coco
from agssp.datasets.converters.report import conversion_report
from agssp.datasets.converters.split import labelled_subset, split_train_val, write_splits
from agssp.datasets.converters.voc import parse_voc_xml, voc_to_coco
from agssp.datasets.converters.yolo import read_class_names, yolo_to_coco

__all__ = [
    'BoxError', 'checked_box', 'ImageIndex', 'ImageReadError', 'read_image_size',
    'mask_to_boxes', 'masks_to_coco', 'conversion_report', 'labelled_subset',
    'split_train_val', 'write_splits', 'parse_voc_xml', 'voc_to_coco', 'read_class_names',
    'yolo_to_coco',
]
