# Fine-tuning YOLOv8-s on Swin-B with window 7 (the supervised backbone), otherwise as
# yolov8_s_swin-b-w6_baseline.py. Baseline initialisation: from scratch, or supervised
# ImageNet weights where you have them (an mmpretrain Swin-B checkpoint), converted first:
#   python tools/model_converters/agbp_to_backbone.py SWIN_B_IN1K.pth \
#     work_dirs/baseline_backbones/in1k_swin-b-w7_out123.pth --target mmdet-swin \
#     --swin-out-indices 1 2 3
#   --cfg-options model.backbone.init_cfg.type=Pretrained \
#     model.backbone.init_cfg.checkpoint=work_dirs/baseline_backbones/in1k_swin-b-w7_out123.pth
_base_ = './yolov8_s_swin-b-w6_baseline.py'
work_dir = 'work_dirs/{{ fileBasenameNoExtension }}/neu_det'
run_info = dict(backbone='Swin-B (window 7)')

model = dict(backbone=dict(window_size=7))
