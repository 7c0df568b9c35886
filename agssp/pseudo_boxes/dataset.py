"""A detection dataset whose boxes are pseudo-defect boxes made from anomaly maps on the fly.

It serves AGDP without an export step: the same rule
(:func:`agssp.pseudo_boxes.rule.map_to_boxes`), the same threshold (computed once per map set and cached beside the maps) and the same per-image
job as ``tools/anomaly_maps_to_coco.py``. Registered in mmdet and mmyolo as
``PseudoBoxDataset``; in training it hands itself to the pipeline, so mmyolo's Mosaic/MixUp work.

Example (mmyolo or mmdet config)::

    train_dataloader = dict(dataset=dict(
        type='PseudoBoxDataset', data_root='data/magnetic-tile', img_dir='',
        map_dir='../maps/kead', exclude_suffixes=['.png'],
        threshold=dict(type='mean_max', offset=-0.1, group='source', scale='auto'),
        box_cfg=dict(min_area_divisor=100, min_area_floor=10, top_k=10, nms_iou=0.8),
        filter_cfg=dict(filter_empty_gt=False), pipeline=train_pipeline))
"""
import logging
import os.path as osp

from mmyolo.datasets.yolov5_coco import BatchShapePolicyDataset

from agssp.pseudo_boxes.export import (PseudoBoxInputError, iter_image_boxes, list_image_relpaths,
                                       resolve_threshold)
from agssp.pseudo_boxes.rule import PSEUDO_BOX_CLASS, box_cfg_with_defaults
from agssp.pseudo_boxes.thresholds import threshold_cfg_with_defaults
from agssp.registry import DETECTION_DATASETS, register_into

logger = logging.getLogger('agssp')


@register_into(*DETECTION_DATASETS)
class PseudoBoxDataset(BatchShapePolicyDataset):
    """Images of a folder with single-class pseudo boxes from their anomaly maps.

    Args:
        img_dir: image folder, searched recursively (relative paths join ``data_root``).
        map_dir: map folder mirroring it (``.npy``; relative paths join ``data_root``).
        threshold: threshold config (:mod:`agssp.pseudo_boxes.thresholds`); default the paper's
            ``dict(type='mean_max', offset=-0.1)``, per source dataset (first-level folder of
            ``map_dir``), the offset's unit chosen by ``scale='auto'``.
        box_cfg: options of :func:`agssp.pseudo_boxes.rule.map_to_boxes` (defaults: the paper's).
        exclude_suffixes: image suffixes to ignore, e.g. ``['.png']`` for masks beside images.
        workers: processes used to build the boxes when the dataset is loaded.
        use_threshold_cache: read/write the dataset-level threshold beside the maps.

    Unusable images or maps are skipped, logged and listed in ``self.skipped``
    (``dict(file, reason)``). ``filter_cfg=dict(filter_empty_gt=True, min_size=...)`` drops
    images without pseudo boxes / smaller than ``min_size`` in training.
    """

    METAINFO = dict(classes=(PSEUDO_BOX_CLASS,), palette=[(220, 20, 60)])

    def __init__(self, img_dir, map_dir, threshold=None, box_cfg=None, exclude_suffixes=(),
                 workers=1, use_threshold_cache=True, **kwargs):
        self.img_dir, self.map_dir = img_dir, map_dir
        self.threshold_cfg = threshold_cfg_with_defaults(threshold)
        self.box_cfg = box_cfg_with_defaults(box_cfg)
        self.exclude_suffixes = tuple(exclude_suffixes)
        self.workers = int(workers)
        self.use_threshold_cache = use_threshold_cache
        self.skipped = []
        self.threshold = None
        super().__init__(**kwargs)

    def _resolve(self, path):
        return path if osp.isabs(path) or not self.data_root else osp.join(self.data_root, path)

    def load_data_list(self):
        img_dir, map_dir = self._resolve(self.img_dir), self._resolve(self.map_dir)
        self.threshold = resolve_threshold(map_dir, self.threshold_cfg,
                                           use_cache=self.use_threshold_cache)
        relpaths = list_image_relpaths(img_dir, self.exclude_suffixes)
        self.skipped = []
        data_list, n_boxes = [], 0
        for rel, result in iter_image_boxes(img_dir, map_dir, relpaths, self.threshold,
                                            self.box_cfg, workers=self.workers):
            if isinstance(result, PseudoBoxInputError):
                logger.warning('PseudoBoxDataset skipped %s: %s', result.path, result.reason)
                self.skipped.append(dict(file=result.path, reason=result.reason))
                continue
            instances = [dict(bbox=[float(v) for v in box], bbox_label=0, ignore_flag=0)
                         for box in result['boxes']]
            n_boxes += len(instances)
            data_list.append(dict(img_id=len(data_list), img_path=osp.join(img_dir, str(rel)),
                                  height=result['height'], width=result['width'],
                                  instances=instances))
        logger.info('PseudoBoxDataset %s: %d images, %d with boxes, %d boxes, %d skipped '
                    '(threshold %s)', img_dir, len(data_list),
                    sum(bool(d['instances']) for d in data_list), n_boxes, len(self.skipped),
                    self.threshold.get('by_source', self.threshold['cfg']))
        return data_list

    def filter_data(self):
        """In training, drop images without boxes (``filter_empty_gt``) or below ``min_size``."""
        if self.test_mode or not self.filter_cfg:
            return self.data_list
        drop_empty = self.filter_cfg.get('filter_empty_gt', False)
        min_size = self.filter_cfg.get('min_size', 0)
        return [d for d in self.data_list
                if not (drop_empty and not d['instances'])
                and min(d['width'], d['height']) >= min_size]
