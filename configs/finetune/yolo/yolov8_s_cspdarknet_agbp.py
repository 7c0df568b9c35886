# Fine-tuning YOLOv8-s (CSPDarknet) from the AGBP backbone alone (the converter's output; neck
# and head from scratch), inputs normalised as in AGBP; otherwise yolov8_s_cspdarknet_baseline.py.
# Backbone file: see configs/pretrain_agdp/yolov8_s_cspdarknet_agdp.py. Overridable keys: those
# of the baseline, and model.backbone.init_cfg.checkpoint (--cfg-options).
_base_ = './yolov8_s_cspdarknet_baseline.py'
work_dir = 'work_dirs/{{ fileBasenameNoExtension }}/neu_det'
run_info = dict(pretraining='AGBP')

agbp_backbone = 'work_dirs/agbp_backbones/cspdarknet_yolov8s.pth'
model = dict(
    data_preprocessor=dict(mean=_base_.agbp_data.mean, std=_base_.agbp_data.std),
    backbone=dict(
        init_cfg=dict(type='Pretrained', checkpoint=agbp_backbone, prefix='backbone.')))
