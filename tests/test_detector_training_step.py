"""One training iteration of each detector family, AGDP and fine-tuning, on a 128 px image.

The configs run as written (--img-size 128 through the adapter, one process; YOLOv8 with its
stage-2 pipeline, as Mosaic's random crop can drop the only box): pseudo boxes or COCO boxes reach the losses,
AGDP moves the neck but not the frozen backbone, and fine-tuning moves the later backbone
stages but not the frozen first ones.
"""
import math

import pytest
import torch
from detector_helpers import (build_detector, one_training_step, state_under, tiny_config,
                              write_tiny_coco, write_tiny_pseudo_box_data)

pytestmark = pytest.mark.integration

torch.set_num_threads(1)
SIZE = 128  # DINO's 100 queries need more encoder tokens than a 64 px image gives

CASES = {
    'agdp-yolov8': ('pretrain_agdp/yolov8_s_cspdarknet_agdp.py', 'loss_bbox'),
    'agdp-faster-rcnn': ('pretrain_agdp/faster-rcnn_swin-b-w6_fpn_agdp.py', 'loss_bbox'),
    'agdp-dino': ('pretrain_agdp/dino-4scale_swin-b-w6_agdp.py', 'loss_iou'),
    'finetune-yolov8': ('finetune/yolo/yolov8_s_cspdarknet_baseline.py', 'loss_bbox'),
    'finetune-faster-rcnn': ('finetune/faster_rcnn/faster-rcnn_swin-b-w6_fpn_baseline.py',
                             'loss_bbox'),
    'finetune-dino': ('finetune/dino/dino-4scale_swin-b-w6_baseline.py', 'loss_iou'),
}


def _changed(before, after):
    return {k for k in before if not torch.equal(before[k], after[k])}


@pytest.mark.parametrize('case', sorted(CASES))
def test_one_training_iteration(case, tmp_path):
    rel, box_loss = CASES[case]
    if case.startswith('agdp'):
        img_dir, map_dir = write_tiny_pseudo_box_data(tmp_path, n=1, size=SIZE)
        cfg = tiny_config(rel, size=SIZE, train_data=dict(img_dir=str(img_dir),
                                                          map_dir=str(map_dir)))
        cfg.model.backbone.init_cfg = None  # no AGBP file here (tests/test_agssp_handoff.py)
    else:
        classes = tiny_config(rel).class_names
        img_dir, ann_file = write_tiny_coco(tmp_path, classes, n=1, size=SIZE)
        cfg = tiny_config(rel, size=SIZE, train_data=dict(ann_file=str(ann_file),
                                                          data_prefix=dict(img=str(img_dir))))
    if 'Mosaic' in [t['type'] for t in cfg.train_dataloader.dataset.pipeline]:
        cfg.train_dataloader.dataset.pipeline = cfg.custom_hooks[1].switch_pipeline
    model = build_detector(cfg)
    model.train()
    backbone_before = {k: v.clone() for k, v in state_under(model, 'backbone.').items()}
    neck_before = {k: v.clone() for k, v in state_under(model, 'neck.').items()}

    model, log_vars = one_training_step(cfg, model)

    assert all(math.isfinite(float(v)) for v in log_vars.values()), log_vars
    assert float(log_vars[box_loss]) > 0, f'no box reached the loss: {log_vars}'
    assert _changed(neck_before, state_under(model, 'neck.'))
    moved = _changed(backbone_before, state_under(model, 'backbone.'))
    if case.startswith('agdp'):
        assert not moved, f'the frozen AGDP backbone moved: {sorted(moved)[:3]}'
    elif 'yolov8' in case:
        assert any(k.startswith('stem.') for k in moved)  # wholly trainable
    else:
        assert moved and not [k for k in moved if k.startswith(('patch_embed.', 'stages.0.',
                                                                'stages.1.'))]
