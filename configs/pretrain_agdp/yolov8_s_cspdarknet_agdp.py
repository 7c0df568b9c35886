# AGDP for YOLOv8-s with its CSPDarknet: the backbone wholly frozen (stem and stages 1-4, BN in
# eval mode) and loaded from the AGBP converter's output; neck and head trained on single-class
# pseudo-defect boxes for 10 epochs at 640 px, SGD lr 0.01 (mmyolo's YOLOv8-s recipe otherwise:
# linear lr decay, 3 warm-up epochs, EMA); Mosaic closes for the last 2 epochs. Inputs are
# normalised as in AGBP (agbp_data mean/std). Backbone file, from an AGBP checkpoint:
#   python tools/model_converters/agbp_to_backbone.py AGBP.pth \
#     work_dirs/agbp_backbones/cspdarknet_yolov8s.pth --target mmyolo-cspdarknet \
#     --check-config configs/pretrain_agdp/yolov8_s_cspdarknet_agdp.py
# Keys a derived config (or --cfg-options) overrides; top-level variables here are not
# re-evaluated in children:
#   model.backbone.init_cfg.checkpoint          AGBP backbone (--cfg-options)
#   train_dataloader.dataset.img_dir / .map_dir  images / anomaly maps (see agdp_pseudo_boxes.py)
#   train_dataloader.batch_size, optim_wrapper.optimizer.batch_size_per_gpu
#   train_cfg.max_epochs, default_hooks.param_scheduler.max_epochs, custom_hooks[1].switch_epoch
# Image size: tools/train.py --img-size N (agssp.engine.detector_adapter; default 640).
# Output: work_dirs/yolov8_s_cspdarknet_agdp/epoch_10.pth, the AGSSP fine-tuning's load_from.
_base_ = [
    '../_base_/models/yolov8_s_cspdarknet.py',
    '../_base_/datasets/agdp_pseudo_boxes.py',
    '../_base_/datasets/agbp_metal.py',
]
custom_imports = dict(imports=['agssp.datasets', 'agssp.pseudo_boxes.dataset'],
                      allow_failed_imports=False)

agbp_backbone = 'work_dirs/agbp_backbones/cspdarknet_yolov8s.pth'
num_classes = len(_base_.agdp_data.classes)
max_epochs = 10
close_mosaic_epochs = 2
train_batch_size_per_gpu = 32
train_num_workers = 8
base_lr = 0.01

model = dict(
    data_preprocessor=dict(mean=_base_.agbp_data.mean, std=_base_.agbp_data.std),
    backbone=dict(
        frozen_stages=4,
        init_cfg=dict(type='Pretrained', checkpoint=agbp_backbone, prefix='backbone.')),
    bbox_head=dict(head_module=dict(num_classes=num_classes)),
    train_cfg=dict(assigner=dict(num_classes=num_classes)))
# mmyolo's CSPDarknet and mmdet's Swin freeze in train(), after DDP has registered every
# parameter: DDP must skip the frozen ones.
find_unused_parameters = True

train_dataloader = dict(
    batch_size=train_batch_size_per_gpu,
    num_workers=train_num_workers,
    dataset=dict(_delete_=True, **_base_.agdp_data.dataset,
                 filter_cfg=dict(filter_empty_gt=False, min_size=32),
                 pipeline=_base_.train_pipeline))
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None

optim_wrapper = dict(optimizer=dict(lr=base_lr, batch_size_per_gpu=train_batch_size_per_gpu))
train_cfg = dict(max_epochs=max_epochs, val_interval=1, dynamic_intervals=None)
default_hooks = dict(
    param_scheduler=dict(max_epochs=max_epochs),
    checkpoint=dict(interval=1, max_keep_ckpts=2, save_best=None),
    logger=dict(interval=50))
custom_hooks = [
    _base_.custom_hooks[0],
    dict(_base_.custom_hooks[1], switch_epoch=max_epochs - close_mosaic_epochs),
]
randomness = dict(seed=2024)
