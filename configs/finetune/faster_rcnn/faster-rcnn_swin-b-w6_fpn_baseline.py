# Fine-tuning Faster R-CNN with FPN on Swin-B (window 6, the SimMIM backbone; out stages 0-3)
# on a labelled defect dataset, the paper's recipe: 500 epochs at 640 px, batch 12, SGD lr 0.01
# with 500 warm-up iterations and lr x0.1 at epochs 400 and 450; patch embedding and Swin stages
# 0-1 frozen; COCO bbox metric per class, best checkpoint by mAP@0.5. ImageNet normalisation.
# Baseline initialisation: from scratch, or SimMIM weights where you have them, converted first:
#   python tools/model_converters/agbp_to_backbone.py SIMMIM_SWIN_B.pth \
#     work_dirs/baseline_backbones/simmim_swin-b-w6_out0123.pth --target mmdet-swin \
#     --swin-out-indices 0 1 2 3
#   --cfg-options model.backbone.init_cfg.type=Pretrained \
#     model.backbone.init_cfg.checkpoint=work_dirs/baseline_backbones/simmim_swin-b-w6_out0123.pth
# Dataset: tools/train.py --dataset NAME (see configs/finetune/yolo/yolov8_s_cspdarknet_baseline.py).
# Work dir: work_dirs/<this config>/<dataset>. Overridable keys: train/val/test_dataloader
# .dataset.ann_file and .data_prefix.img, val/test_evaluator.ann_file, train_dataloader
# .batch_size, optim_wrapper.optimizer.lr, train_cfg.max_epochs, param_scheduler, work_dir.
_base_ = [
    '../../_base_/models/faster-rcnn_swin-b_fpn.py',
    '../../_base_/datasets/neu_det.py',
    '../../_base_/datasets/agbp_metal.py',
]
custom_imports = dict(imports=['agssp.datasets'], allow_failed_imports=False)
work_dir = 'work_dirs/{{ fileBasenameNoExtension }}/neu_det'
run_info = dict(detector='Faster R-CNN', backbone='Swin-B (window 6)', pretraining='baseline')

class_names = _base_.finetune_data.classes
metainfo = dict(classes=class_names)
num_classes = len(class_names)
max_epochs = 500
train_batch_size_per_gpu = 12
train_num_workers = 4

model = dict(
    backbone=dict(window_size=6, frozen_stages=2),
    roi_head=dict(bbox_head=dict(num_classes=num_classes)))

train_dataloader = dict(
    batch_size=train_batch_size_per_gpu,
    num_workers=train_num_workers,
    dataset=dict(type='StrictCocoDataset', data_root='',
                 ann_file=_base_.finetune_data.train_ann_file,
                 data_prefix=dict(img=_base_.finetune_data.img_root), metainfo=metainfo,
                 filter_cfg=dict(filter_empty_gt=False, min_size=32)))
val_dataloader = dict(
    dataset=dict(type='StrictCocoDataset', data_root='',
                 ann_file=_base_.finetune_data.val_ann_file,
                 data_prefix=dict(img=_base_.finetune_data.img_root), metainfo=metainfo))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=_base_.finetune_data.val_ann_file, classwise=True)
test_evaluator = val_evaluator

optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[400, 450],
         gamma=0.1),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=10)
auto_scale_lr = dict(base_batch_size=train_batch_size_per_gpu)
default_hooks = dict(
    checkpoint=dict(interval=10, max_keep_ckpts=1, save_best='coco/bbox_mAP_50', rule='greater'),
    logger=dict(interval=50))
randomness = dict(seed=2024)
