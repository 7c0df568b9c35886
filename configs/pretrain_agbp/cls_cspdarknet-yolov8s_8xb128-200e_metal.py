# Baseline twin of agbp_cspdarknet-yolov8s_8xb128-200e_metal.py: the YOLOv8-s backbone (mmyolo
# CSPDarknet, deepen 0.33, widen 0.5) trained on source-dataset classification only, with the
# ResNet-50 baseline's data and recipe (8 x 128 images, SGD lr 0.01, 200 epochs, steps
# 60/90/180; auto_scale_lr base 1024). Stem and stages 1-2 frozen (mmyolo frozen_stages=2): on
# pretrained weights (--cfg-options load_from=CKPT, or model.backbone.init_cfg=dict(
# type='Pretrained', checkpoint=CKPT, prefix='backbone.')); tools/train.py warns when they
# would be frozen random weights.
_base_ = './cls_resnet50_8xb128-200e_metal.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmyolo.YOLOv8CSPDarknet',
        arch='P5',
        last_stage_out_channels=1024,
        deepen_factor=0.33,
        widen_factor=0.5,
        norm_cfg=dict(type='BN', momentum=0.03, eps=0.001),
        act_cfg=dict(type='SiLU', inplace=True),
        out_indices=(3, 4),
        frozen_stages=2),
    head=dict(in_channels=512))
