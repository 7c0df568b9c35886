"""COCO box metrics per class (mAP@0.5 and mAP@0.5:0.95) from a ground truth and detections."""
import contextlib
import io
import json

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

# The one per-class AP of every table: what mmdet's CocoMetric(classwise=True) logs as
# ``coco/<class>_precision`` is the same quantity (COCOeval's precision of that class).
PER_CLASS_AP = ('per-class AP = COCO average precision of each class (pycocotools COCOeval, '
                'area all, 100 detections), at IoU 0.5 and averaged over IoU 0.5:0.95')


def _mean_precision(precision: np.ndarray) -> float:
    valid = precision[precision > -1]
    return float(valid.mean()) if valid.size else float('nan')


def coco_ap_by_class(gt_file, det_file) -> dict:
    """``dict(overall=dict(mAP50, mAP), per_class={name: dict(mAP50, mAP)})`` (area all, 100 dets)."""
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_file))
        dets = json.loads(open(det_file).read())
        dt = gt.loadRes(dets) if dets else None
    names = {c['id']: c['name'] for c in gt.loadCats(gt.getCatIds())}
    if dt is None:
        zero = dict(mAP50=0.0, mAP=0.0)
        return dict(overall=zero, per_class={n: dict(zero) for n in names.values()})
    evaluator = COCOeval(gt, dt, 'bbox')
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator.evaluate()
        evaluator.accumulate()
    # precision: [IoU thresholds, recall points, classes, area ranges, max dets]
    precision = evaluator.eval['precision'][:, :, :, 0, -1]
    per_class = {}
    for k, cat_id in enumerate(evaluator.params.catIds):
        per_class[names[cat_id]] = dict(mAP50=_mean_precision(precision[0, :, k]),
                                        mAP=_mean_precision(precision[:, :, k]))
    overall = dict(mAP50=_mean_precision(precision[0]), mAP=_mean_precision(precision))
    return dict(overall=overall, per_class=per_class)
