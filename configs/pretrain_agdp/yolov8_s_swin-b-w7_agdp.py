# AGDP for YOLOv8-s on the supervised-pretrained Swin-B (window 7), otherwise as
# yolov8_s_swin-b-w6_agdp.py. Backbone file:
#   python tools/model_converters/agbp_to_backbone.py AGBP_SWIN.pth \
#     work_dirs/agbp_backbones/swin-b-w7_out123.pth --target mmdet-swin \
#     --swin-out-indices 1 2 3 --check-config configs/pretrain_agdp/yolov8_s_swin-b-w7_agdp.py
_base_ = './yolov8_s_swin-b-w6_agdp.py'

agbp_backbone = 'work_dirs/agbp_backbones/swin-b-w7_out123.pth'

model = dict(backbone=dict(window_size=7, init_cfg=dict(checkpoint=agbp_backbone)))
