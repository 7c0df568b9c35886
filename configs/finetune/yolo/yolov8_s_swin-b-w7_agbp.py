# Fine-tuning YOLOv8-s on Swin-B (window 7) from the AGBP backbone alone (the converter's
# output, see configs/pretrain_agdp/yolov8_s_swin-b-w7_agdp.py), inputs normalised as in AGBP;
# otherwise yolov8_s_swin-b-w7_baseline.py. Extra key: model.backbone.init_cfg.checkpoint
# (--cfg-options).
_base_ = './yolov8_s_swin-b-w7_baseline.py'
work_dir = 'work_dirs/{{ fileBasenameNoExtension }}/neu_det'
run_info = dict(pretraining='AGBP')

agbp_backbone = 'work_dirs/agbp_backbones/swin-b-w7_out123.pth'
model = dict(
    data_preprocessor=dict(mean=_base_.agbp_data.mean, std=_base_.agbp_data.std),
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=agbp_backbone)))
