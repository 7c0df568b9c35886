"""How well pseudo boxes find the labelled defects: recall and precision at IoU 0.5 and 0.3.

Class-agnostic (pseudo boxes have one class). Per image, pseudo boxes are matched greedily in
decreasing score order, each to the still unmatched ground-truth box it overlaps most, when that
IoU is ``>= iou_threshold`` (one-to-one). Recall is matched ground-truth boxes over all of them;
precision is matched pseudo boxes over all of them. By size, each box falls in a COCO bucket by
its own box area in image pixels, COCO's absolute ranges (``small`` < 32^2 <= ``medium`` <
96^2 <= ``large``): recall per bucket counts ground-truth boxes of that size, precision per
bucket pseudo boxes of that size. The main IoU's figures sit at the top level; ``by_iou`` holds
them for every IoU asked for (by default 0.5 and the looser 0.3, which credits a box that finds
a defect but cuts it differently).

Images are paired by ``file_name`` (``match='path'``) or by its last component
(``match='name'``). Images of the ground truth missing from the pseudo boxes count as images
without pseudo boxes; pseudo-box images absent from the ground truth are left out and counted.
Ground-truth boxes with ``iscrowd=1`` are left out.
"""
from pathlib import PurePosixPath

import numpy as np
from mmdet.evaluation.functional import bbox_overlaps

from agssp.core.coco import coco_xyxy

SIZE_BUCKETS = (('small', 0.0, 32.0 ** 2), ('medium', 32.0 ** 2, 96.0 ** 2),
                ('large', 96.0 ** 2, float('inf')))


def match_boxes(gt_boxes, pred_boxes, pred_scores, iou_threshold=0.5):
    """Greedy one-to-one matching of one image's ``xyxy`` boxes.

    Returns boolean arrays ``(gt_matched, pred_matched)``.
    """
    gt_boxes = np.asarray(gt_boxes, np.float32).reshape(-1, 4)
    pred_boxes = np.asarray(pred_boxes, np.float32).reshape(-1, 4)
    gt_matched = np.zeros(len(gt_boxes), bool)
    pred_matched = np.zeros(len(pred_boxes), bool)
    if len(gt_boxes) == 0 or len(pred_boxes) == 0:
        return gt_matched, pred_matched
    ious = bbox_overlaps(pred_boxes, gt_boxes)
    for p in np.argsort(-np.asarray(pred_scores, np.float64), kind='stable'):
        candidates = np.where(gt_matched, -1.0, ious[p])
        g = int(np.argmax(candidates))
        if candidates[g] >= iou_threshold:
            gt_matched[g] = pred_matched[p] = True
    return gt_matched, pred_matched


def _image_key(file_name, match):
    path = PurePosixPath(str(file_name).replace('\\', '/'))
    if match == 'path':
        return str(path)
    if match == 'name':
        return path.name
    raise ValueError(f"match must be 'path' or 'name', got {match!r}")


def _boxes_by_image(coco, match, with_scores, skip_crowd):
    """``{image key: (boxes xyxy, scores)}`` for every image of a COCO dict."""
    keys, by_key = {}, {}
    for img in coco['images']:
        key = _image_key(img['file_name'], match)
        if key in by_key:
            raise ValueError(f'two images share the key {key!r} (match={match!r}); '
                             "use match='path'")
        keys[img['id']] = key
        by_key[key] = ([], [])
    for ann in coco['annotations']:
        if skip_crowd and ann.get('iscrowd', 0):
            continue
        boxes, scores = by_key[keys[ann['image_id']]]
        boxes.append(coco_xyxy(ann['bbox']))
        scores.append(ann.get('score', 1.0) if with_scores else 1.0)
    return {k: (np.asarray(b, np.float32).reshape(-1, 4), np.asarray(s, np.float32))
            for k, (b, s) in by_key.items()}


def _size_bucket(boxes):
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return {name: (areas >= low) & (areas < high) for name, low, high in SIZE_BUCKETS}


def _rates(gt_hit, pred_hit):
    n_gt, n_pred = len(gt_hit), len(pred_hit)
    return dict(gt=n_gt, pred=n_pred, matched_gt=int(np.sum(gt_hit)),
                matched_pred=int(np.sum(pred_hit)),
                recall=float(np.mean(gt_hit)) if n_gt else None,
                precision=float(np.mean(pred_hit)) if n_pred else None)


def rates_text(rates) -> str:
    """``recall / precision`` of one rates dict to 3 decimals, ``-`` where nothing divides."""
    return ' / '.join('-' if rates[k] is None else f'{rates[k]:.3f}'
                      for k in ('recall', 'precision'))


def _rates_at(gt, pred, iou_threshold):
    """Overall and by-size rates at one IoU, and the image-level counts."""
    empty = (np.zeros((0, 4), np.float32), np.zeros((0,), np.float32))
    gt_hits, pred_hits, gt_boxes, pred_boxes = [], [], [], []
    image_level = dict(defect_images=0, defect_images_with_boxes=0, free_images=0,
                       free_images_with_boxes=0)
    for key, (g_boxes, _) in gt.items():
        p_boxes, p_scores = pred.get(key, empty)
        g_hit, p_hit = match_boxes(g_boxes, p_boxes, p_scores, iou_threshold)
        gt_hits.append(g_hit)
        pred_hits.append(p_hit)
        gt_boxes.append(g_boxes)
        pred_boxes.append(p_boxes)
        kind = 'defect' if len(g_boxes) else 'free'
        image_level[f'{kind}_images'] += 1
        image_level[f'{kind}_images_with_boxes'] += int(len(p_boxes) > 0)
    gt_hit, pred_hit = np.concatenate(gt_hits), np.concatenate(pred_hits)
    gt_size = _size_bucket(np.concatenate(gt_boxes))
    pred_size = _size_bucket(np.concatenate(pred_boxes))
    rates = dict(overall=_rates(gt_hit, pred_hit),
                 by_size={name: _rates(gt_hit[gt_size[name]], pred_hit[pred_size[name]])
                          for name, _, _ in SIZE_BUCKETS})
    return rates, image_level


def pseudo_box_quality(gt_coco, pred_coco, iou_threshold=0.5, match='path',
                       iou_thresholds=(0.5, 0.3)) -> dict:
    """Recall and precision of ``pred_coco``'s boxes against ``gt_coco``'s, overall and by size.

    ``overall`` and ``by_size`` are at ``iou_threshold``; ``by_iou`` maps each of
    ``iou_thresholds`` (and ``iou_threshold``), as a string such as ``'0.3'``, to its
    ``overall`` and ``by_size``. Also image-level counts: ground-truth images with defects that
    got at least one pseudo box, and defect-free ones that got any.
    """
    gt = _boxes_by_image(gt_coco, match, with_scores=False, skip_crowd=True)
    pred = _boxes_by_image(pred_coco, match, with_scores=True, skip_crowd=False)
    if not gt:
        raise ValueError('the ground truth holds no image')
    main, image_level = _rates_at(gt, pred, iou_threshold)
    by_iou = {}
    for iou in dict.fromkeys([float(iou_threshold), *map(float, iou_thresholds)]):
        by_iou[f'{iou:g}'] = main if iou == float(iou_threshold) else _rates_at(gt, pred, iou)[0]
    return dict(
        iou_threshold=float(iou_threshold), match=match,
        images=dict(evaluated=len(gt), missing_in_pred=len(set(gt) - set(pred)),
                    pred_only=len(set(pred) - set(gt))),
        **main, by_iou=by_iou, image_level=image_level)
