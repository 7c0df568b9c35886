# Fine-tuning YOLOv8-s on a ResNet-50 backbone (out stages 1-3, neck and head widen 1.0),
# ImageNet normalisation; recipe and dataset choice of yolov8_s_cspdarknet_baseline.py (500
# epochs, 640 px, batch 32, lr 0.0025, backbone unfrozen). Baseline initialisation: from
# scratch, or ImageNet weights where you have them:
#   --cfg-options model.backbone.init_cfg.type=Pretrained \
#     model.backbone.init_cfg.checkpoint=torchvision://resnet50   (or a local file)
_base_ = ['./yolov8_s_cspdarknet_baseline.py', '../../_base_/models/yolov8_s_resnet50.py']
work_dir = 'work_dirs/{{ fileBasenameNoExtension }}/neu_det'
run_info = dict(backbone='ResNet-50')

model = dict(
    data_preprocessor=_base_.yolov8_s_resnet50.data_preprocessor,
    backbone=_base_.yolov8_s_resnet50.backbone,
    neck=_base_.yolov8_s_resnet50.neck,
    bbox_head=_base_.yolov8_s_resnet50.bbox_head)
