# Fine-tuning YOLOv8-s on Swin-B with window 6 (the SimMIM backbone; out stages 1-3, neck and
# head widen 1.0), ImageNet normalisation; recipe and dataset choice of
# yolov8_s_cspdarknet_baseline.py with batch 14 (500 epochs, 640 px, lr 0.0025, backbone
# unfrozen). Baseline initialisation: from scratch, or SimMIM weights where you have them,
# converted to mmdet's layout first:
#   python tools/model_converters/agbp_to_backbone.py SIMMIM_SWIN_B.pth \
#     work_dirs/baseline_backbones/simmim_swin-b-w6_out123.pth --target mmdet-swin \
#     --swin-out-indices 1 2 3
#   --cfg-options model.backbone.init_cfg.type=Pretrained \
#     model.backbone.init_cfg.checkpoint=work_dirs/baseline_backbones/simmim_swin-b-w6_out123.pth
_base_ = ['./yolov8_s_cspdarknet_baseline.py', '../../_base_/models/yolov8_s_swin-b.py']
work_dir = 'work_dirs/{{ fileBasenameNoExtension }}/neu_det'
run_info = dict(backbone='Swin-B (window 6)')

train_batch_size_per_gpu = 14

model = dict(
    data_preprocessor=_base_.yolov8_s_swin_b.data_preprocessor,
    backbone=dict(_base_.yolov8_s_swin_b.backbone, window_size=6),
    neck=_base_.yolov8_s_swin_b.neck,
    bbox_head=_base_.yolov8_s_swin_b.bbox_head)
train_dataloader = dict(batch_size=train_batch_size_per_gpu)
optim_wrapper = dict(optimizer=dict(batch_size_per_gpu=train_batch_size_per_gpu))
