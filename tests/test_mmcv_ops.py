"""mmcv's compiled ops give correct results on the CPU."""
import numpy as np
import pytest
import torch

ops = pytest.importorskip('mmcv.ops')


def test_nms_suppresses_overlaps_and_keeps_order():
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 9.]])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.95])
    dets, keep = ops.nms(boxes, scores, iou_threshold=0.5)
    # box 3 (0.95) suppresses boxes 0 and 1 (IoU 0.9 and > 0.5); box 2 is disjoint.
    assert keep.tolist() == [3, 2]
    assert torch.allclose(dets[:, 4], torch.tensor([0.95, 0.7]))
    assert torch.allclose(dets[:, :4], boxes[[3, 2]])


def test_batched_nms_only_suppresses_within_a_class():
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [1, 1, 11, 11.]])
    scores = torch.tensor([0.9, 0.8, 0.85])
    labels = torch.tensor([0, 0, 1])
    dets, keep = ops.batched_nms(boxes, scores, labels, dict(type='nms', iou_threshold=0.5))
    assert sorted(keep.tolist()) == [0, 2]
    assert dets.shape == (2, 5)


def test_roi_align_matches_bilinear_average():
    feat = torch.arange(64, dtype=torch.float32).reshape(1, 1, 8, 8)
    # One roi covering pixels [2, 6) x [2, 6) at scale 1; 1x1 output, 2x2 samples, aligned.
    rois = torch.tensor([[0, 2.0, 2.0, 6.0, 6.0]])
    out = ops.RoIAlign((1, 1), spatial_scale=1.0, sampling_ratio=2, aligned=True)(feat, rois)
    # Aligned sampling points: centres at 2.5+-1 -1/2 => 3.0 and 5.0 shifted by -0.5 => 2.5, 4.5.
    pts = [2.5, 4.5]
    expected = np.mean([np.interp(x, range(8), range(8)) + 8 * np.interp(y, range(8), range(8))
                        for y in pts for x in pts])
    assert out.shape == (1, 1, 1, 1)
    assert out.item() == pytest.approx(expected, abs=1e-4)


def test_roi_align_constant_feature_is_constant():
    feat = torch.full((2, 3, 16, 16), 7.0)
    rois = torch.tensor([[1, 0.5, 1.5, 9.0, 12.0], [0, 3.0, 3.0, 4.0, 5.0]])
    out = ops.roi_align(feat, rois, (4, 4), 0.5, 2, 'avg', True)
    assert out.shape == (2, 3, 4, 4)
    assert torch.allclose(out, torch.full_like(out, 7.0))
