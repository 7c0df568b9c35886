# AGDP for YOLOv8-s on a ResNet-50 backbone (out stages 1-3 with 512/1024/2048 channels, neck
# and head widen 1.0), wholly frozen (stem and stages 1-4, BN in eval mode) and loaded from the
# AGBP converter's output; lr 0.0025, otherwise as yolov8_s_cspdarknet_agdp.py. Backbone file:
#   python tools/model_converters/agbp_to_backbone.py AGBP.pth \
#     work_dirs/agbp_backbones/resnet50.pth --target mmdet-resnet \
#     --check-config configs/pretrain_agdp/yolov8_s_resnet50_agdp.py
# Overridable keys: as in yolov8_s_cspdarknet_agdp.py (optim_wrapper.optimizer.lr here 0.0025).
_base_ = ['./yolov8_s_cspdarknet_agdp.py', '../_base_/models/yolov8_s_resnet50.py']

agbp_backbone = 'work_dirs/agbp_backbones/resnet50.pth'
base_lr = 0.0025

model = dict(
    backbone=dict(
        _base_.yolov8_s_resnet50.backbone,
        frozen_stages=4,
        init_cfg=dict(type='Pretrained', checkpoint=agbp_backbone, prefix='backbone.')),
    neck=_base_.yolov8_s_resnet50.neck,
    bbox_head=_base_.yolov8_s_resnet50.bbox_head)
optim_wrapper = dict(optimizer=dict(lr=base_lr))
