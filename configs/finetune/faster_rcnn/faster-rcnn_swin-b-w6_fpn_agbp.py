# Fine-tuning Faster R-CNN (Swin-B window 6, FPN) from the AGBP backbone alone (the converter's
# output with out indices 0-3, see configs/pretrain_agdp/faster-rcnn_swin-b-w6_fpn_agdp.py),
# inputs normalised as in AGBP; otherwise faster-rcnn_swin-b-w6_fpn_baseline.py. Extra key:
# model.backbone.init_cfg.checkpoint (--cfg-options).
_base_ = './faster-rcnn_swin-b-w6_fpn_baseline.py'
work_dir = 'work_dirs/{{ fileBasenameNoExtension }}/neu_det'
run_info = dict(pretraining='AGBP')

agbp_backbone = 'work_dirs/agbp_backbones/swin-b-w6_out0123.pth'
model = dict(
    data_preprocessor=dict(mean=_base_.agbp_data.mean, std=_base_.agbp_data.std),
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=agbp_backbone)))
