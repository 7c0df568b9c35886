# Fine-tuning YOLOv8-s (CSPDarknet) on a labelled defect dataset, the paper's recipe: 500 epochs
# at 640 px, batch 32, SGD lr 0.0025 (mmyolo's YOLOv8-s recipe otherwise: linear decay, EMA,
# Mosaic closed for the last 10 epochs), backbone unfrozen; COCO bbox metric per class, best
# checkpoint by mAP@0.5. The datasets are StrictCocoDataset: class names that do not match the
# COCO file's categories stop the run (mmdet would drop those boxes silently).
# Baseline initialisation: from scratch (YOLOv8's CSPDarknet has no ImageNet weights here); to
# start from a backbone checkpoint (keys under backbone.):
#   --cfg-options model.backbone.init_cfg.type=Pretrained \
#     model.backbone.init_cfg.checkpoint=CKPT model.backbone.init_cfg.prefix=backbone.
# The other initialisations: yolov8_s_cspdarknet_agbp.py, yolov8_s_cspdarknet_agssp.py.
# Dataset: neu_det; tools/train.py --dataset magnetic_tile | casting_billet | steel_pipe |
# gc10_det (configs/_base_/datasets/<name>.py) or --classes / --img-root / --train-ann /
# --val-ann / --test-ann (agssp.engine.detector_adapter writes every key listed below).
# Work dir: work_dirs/<this config>/<dataset>. Keys a derived config (or --cfg-options)
# overrides; top-level variables here are not re-evaluated in children:
#   train_dataloader.dataset.ann_file / .data_prefix.img, val_dataloader.dataset.ann_file /
#   .data_prefix.img, test_dataloader.dataset (same), val_evaluator.ann_file,
#   test_evaluator.ann_file, train_dataloader.batch_size,
#   optim_wrapper.optimizer.batch_size_per_gpu, train_cfg.max_epochs,
#   default_hooks.param_scheduler.max_epochs, custom_hooks[1].switch_epoch, work_dir.
# Image size: tools/train.py --img-size N (agssp.engine.detector_adapter; default 640).
_base_ = [
    '../../_base_/models/yolov8_s_cspdarknet.py',
    '../../_base_/datasets/neu_det.py',
    '../../_base_/datasets/agbp_metal.py',
]
custom_imports = dict(imports=['agssp.datasets'], allow_failed_imports=False)
work_dir = 'work_dirs/{{ fileBasenameNoExtension }}/neu_det'
run_info = dict(detector='YOLOv8-s', backbone='CSPDarknet', pretraining='baseline')

class_names = _base_.finetune_data.classes
metainfo = dict(classes=class_names)
num_classes = len(class_names)
max_epochs = 500
close_mosaic_epochs = 10
train_batch_size_per_gpu = 32
train_num_workers = 4
base_lr = 0.0025

model = dict(
    backbone=dict(frozen_stages=-1),
    bbox_head=dict(head_module=dict(num_classes=num_classes)),
    train_cfg=dict(assigner=dict(num_classes=num_classes)))

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

optim_wrapper = dict(optimizer=dict(lr=base_lr, batch_size_per_gpu=train_batch_size_per_gpu))
train_cfg = dict(max_epochs=max_epochs, val_interval=10,
                 dynamic_intervals=[(max_epochs - close_mosaic_epochs, 1)])
default_hooks = dict(
    param_scheduler=dict(max_epochs=max_epochs),
    checkpoint=dict(interval=10, max_keep_ckpts=1, save_best='coco/bbox_mAP_50', rule='greater'),
    logger=dict(interval=50))
custom_hooks = [
    _base_.custom_hooks[0],
    dict(_base_.custom_hooks[1], switch_epoch=max_epochs - close_mosaic_epochs),
]
randomness = dict(seed=2024)
