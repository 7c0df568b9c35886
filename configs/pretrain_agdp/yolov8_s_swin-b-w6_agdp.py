# AGDP for YOLOv8-s on the SimMIM-pretrained Swin-B (window 6; out stages 1-3 with 256/512/1024
# channels, neck and head widen 1.0), wholly frozen (patch embedding, stages 0-3 and their output
# norms) and loaded from the AGBP converter's output; lr 0.0025, otherwise as
# yolov8_s_cspdarknet_agdp.py. Backbone file (one output norm per out index):
#   python tools/model_converters/agbp_to_backbone.py AGBP_SIMMIM.pth \
#     work_dirs/agbp_backbones/swin-b-w6_out123.pth --target mmdet-swin \
#     --swin-out-indices 1 2 3 --check-config configs/pretrain_agdp/yolov8_s_swin-b-w6_agdp.py
# Overridable keys: as in yolov8_s_cspdarknet_agdp.py (optim_wrapper.optimizer.lr here 0.0025).
_base_ = ['./yolov8_s_cspdarknet_agdp.py', '../_base_/models/yolov8_s_swin-b.py']

agbp_backbone = 'work_dirs/agbp_backbones/swin-b-w6_out123.pth'
base_lr = 0.0025

model = dict(
    backbone=dict(
        _base_.yolov8_s_swin_b.backbone,
        window_size=6,
        frozen_stages=4,
        init_cfg=dict(type='Pretrained', checkpoint=agbp_backbone)),
    neck=_base_.yolov8_s_swin_b.neck,
    bbox_head=_base_.yolov8_s_swin_b.bbox_head)
optim_wrapper = dict(optimizer=dict(lr=base_lr))
