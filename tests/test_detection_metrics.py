"""Per-class COCO AP from a ground truth and detections."""
import json

import pytest

from agssp.evaluation.detection_metrics import coco_ap_by_class


def _gt(tmp_path):
    gt = dict(images=[dict(id=1, file_name='a.png', height=100, width=100),
                      dict(id=2, file_name='b.png', height=100, width=100)],
              annotations=[dict(id=1, image_id=1, category_id=1, bbox=[10, 10, 20, 20], area=400,
                                iscrowd=0),
                           dict(id=2, image_id=2, category_id=2, bbox=[50, 50, 30, 10], area=300,
                                iscrowd=0)],
              categories=[dict(id=1, name='scratch'), dict(id=2, name='pit')])
    path = tmp_path / 'gt.json'
    path.write_text(json.dumps(gt))
    return path


def test_perfect_detections_score_one_and_a_miss_scores_zero(tmp_path):
    dets = [dict(image_id=1, category_id=1, bbox=[10, 10, 20, 20], score=0.9),
            dict(image_id=2, category_id=2, bbox=[0, 0, 5, 5], score=0.9)]
    det_file = tmp_path / 'dets.json'
    det_file.write_text(json.dumps(dets))
    result = coco_ap_by_class(_gt(tmp_path), det_file)
    assert result['per_class']['scratch'] == pytest.approx(dict(mAP50=1.0, mAP=1.0))
    assert result['per_class']['pit'] == pytest.approx(dict(mAP50=0.0, mAP=0.0))
    assert result['overall']['mAP50'] == pytest.approx(0.5)


def test_no_detections_is_zero(tmp_path):
    det_file = tmp_path / 'dets.json'
    det_file.write_text('[]')
    assert coco_ap_by_class(_gt(tmp_path), det_file)['overall'] == dict(mAP50=0.0, mAP=0.0)
