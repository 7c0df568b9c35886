# AGDP for DINO (4 scales, the paper's settings: see _base_/models/dino-4scale_swin-b.py) on the
# SimMIM-pretrained Swin-B (window 6, out stages 1-3), wholly frozen and loaded from the AGBP
# converter's output; neck, transformer and head trained on single-class pseudo-defect boxes
# for 10 epochs at 640 px: AdamW lr 1e-4 (backbone x0.1), lr x0.1 at epoch 6. Inputs
# normalised as in AGBP (agbp_data mean/std). Backbone file: the one of
# yolov8_s_swin-b-w6_agdp.py (agbp_to_backbone.py ... --target mmdet-swin --swin-out-indices 1 2 3
# --check-config configs/pretrain_agdp/dino-4scale_swin-b-w6_agdp.py).
# Overridable keys: as in faster-rcnn_swin-b-w6_fpn_agdp.py.
# Output: work_dirs/dino-4scale_swin-b-w6_agdp/epoch_10.pth.
_base_ = [
    '../_base_/models/dino-4scale_swin-b.py',
    '../_base_/datasets/agdp_pseudo_boxes.py',
    '../_base_/datasets/agbp_metal.py',
]
custom_imports = dict(imports=['agssp.datasets', 'agssp.pseudo_boxes.dataset'],
                      allow_failed_imports=False)

agbp_backbone = 'work_dirs/agbp_backbones/swin-b-w6_out123.pth'
num_classes = len(_base_.agdp_data.classes)
max_epochs = 10
train_batch_size_per_gpu = 8
train_num_workers = 8

model = dict(
    data_preprocessor=dict(mean=_base_.agbp_data.mean, std=_base_.agbp_data.std),
    backbone=dict(
        window_size=6,
        frozen_stages=4,
        init_cfg=dict(type='Pretrained', checkpoint=agbp_backbone)),
    bbox_head=dict(num_classes=num_classes))

train_dataloader = dict(
    batch_size=train_batch_size_per_gpu,
    num_workers=train_num_workers,
    dataset=dict(_delete_=True, **_base_.agdp_data.dataset,
                 filter_cfg=dict(filter_empty_gt=False), pipeline=_base_.train_pipeline))
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None

param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[6],
         gamma=0.1),
]
train_cfg = dict(max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=train_batch_size_per_gpu)
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=2), logger=dict(interval=50))
randomness = dict(seed=2024)
