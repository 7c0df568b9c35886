# Fine-tuning YOLOv8-s on ResNet-50 from the AGBP backbone alone (the converter's output, see
# configs/pretrain_agdp/yolov8_s_resnet50_agdp.py), inputs normalised as in AGBP; otherwise
# yolov8_s_resnet50_baseline.py. Extra key: model.backbone.init_cfg.checkpoint
# (--cfg-options).
_base_ = './yolov8_s_resnet50_baseline.py'
work_dir = 'work_dirs/{{ fileBasenameNoExtension }}/neu_det'
run_info = dict(pretraining='AGBP')

agbp_backbone = 'work_dirs/agbp_backbones/resnet50.pth'
model = dict(
    data_preprocessor=dict(mean=_base_.agbp_data.mean, std=_base_.agbp_data.std),
    backbone=dict(
        init_cfg=dict(type='Pretrained', checkpoint=agbp_backbone, prefix='backbone.')))
