# Fine-tuning DINO (4 scales, the paper's settings: see _base_/models/dino-4scale_swin-b.py) on
# Swin-B (window 6, the SimMIM backbone; out stages 1-3) on a labelled defect dataset: 500
# epochs at 640 px, batch 6, AdamW lr 1e-4 (backbone x0.1), lr x0.1 at epoch 400; patch
# embedding and Swin stages 0-1 frozen; COCO bbox metric per class, best checkpoint by mAP@0.5.
# ImageNet normalisation. Baseline initialisation: from scratch, or SimMIM weights converted as
# for yolov8_s_swin-b-w6_baseline.py (out indices 1 2 3), then
#   --cfg-options model.backbone.init_cfg.type=Pretrained model.backbone.init_cfg.checkpoint=CKPT
# Dataset: tools/train.py --dataset NAME (see configs/finetune/yolo/yolov8_s_cspdarknet_baseline.py).
# Work dir: work_dirs/<this config>/<dataset>. Overridable keys: as in
# configs/finetune/faster_rcnn/faster-rcnn_swin-b-w6_fpn_baseline.py.
_base_ = [
    '../../_base_/models/dino-4scale_swin-b.py',
    '../../_base_/datasets/neu_det.py',
    '../../_base_/datasets/agbp_metal.py',
]
custom_imports = dict(imports=['agssp.datasets'], allow_failed_imports=False)
work_dir = 'work_dirs/{{ fileBasenameNoExtension }}/neu_det'
run_info = dict(detector='DINO (4 scales)', backbone='Swin-B (window 6)', pretraining='baseline')

class_names = _base_.finetune_data.classes
metainfo = dict(classes=class_names)
num_classes = len(class_names)
max_epochs = 500
train_batch_size_per_gpu = 6
train_num_workers = 4

model = dict(
    backbone=dict(window_size=6, frozen_stages=2),
    bbox_head=dict(num_classes=num_classes))

train_dataloader = dict(
    batch_size=train_batch_size_per_gpu,
    num_workers=train_num_workers,
    dataset=dict(type='StrictCocoDataset', data_root='',
                 ann_file=_base_.finetune_data.train_ann_file,
                 data_prefix=dict(img=_base_.finetune_data.img_root), metainfo=metainfo))
val_dataloader = dict(
    dataset=dict(type='StrictCocoDataset', data_root='',
                 ann_file=_base_.finetune_data.val_ann_file,
                 data_prefix=dict(img=_base_.finetune_data.img_root), metainfo=metainfo))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=_base_.finetune_data.val_ann_file, classwise=True)
test_evaluator = val_evaluator

param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[400],
         gamma=0.1),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=10)
auto_scale_lr = dict(base_batch_size=train_batch_size_per_gpu)
default_hooks = dict(
    checkpoint=dict(interval=10, max_keep_ckpts=1, save_best='coco/bbox_mAP_50', rule='greater'),
    logger=dict(interval=50))
randomness = dict(seed=2024)
