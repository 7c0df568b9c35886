# AGDP for Faster R-CNN with FPN on the SimMIM-pretrained Swin-B (window 6, out stages 0-3),
# wholly frozen (patch embedding, stages 0-3 and their output norms) and loaded from the AGBP
# converter's output; FPN, RPN and RoI head trained on single-class pseudo-defect boxes for 10
# epochs at 640 px: SGD lr 0.01, 500 warm-up iterations, lr x0.1 at epochs 6 and 8. Inputs
# normalised as in AGBP (agbp_data mean/std). Backbone file:
#   python tools/model_converters/agbp_to_backbone.py AGBP_SIMMIM.pth \
#     work_dirs/agbp_backbones/swin-b-w6_out0123.pth --target mmdet-swin \
#     --swin-out-indices 0 1 2 3 \
#     --check-config configs/pretrain_agdp/faster-rcnn_swin-b-w6_fpn_agdp.py
# Overridable keys: model.backbone.init_cfg.checkpoint (--cfg-options),
# train_dataloader.dataset.img_dir / .map_dir (--cfg-options),
# train_dataloader.batch_size, optim_wrapper.optimizer.lr, train_cfg.max_epochs.
# Output: work_dirs/faster-rcnn_swin-b-w6_fpn_agdp/epoch_10.pth.
_base_ = [
    '../_base_/models/faster-rcnn_swin-b_fpn.py',
    '../_base_/datasets/agdp_pseudo_boxes.py',
    '../_base_/datasets/agbp_metal.py',
]
custom_imports = dict(imports=['agssp.datasets', 'agssp.pseudo_boxes.dataset'],
                      allow_failed_imports=False)

agbp_backbone = 'work_dirs/agbp_backbones/swin-b-w6_out0123.pth'
num_classes = len(_base_.agdp_data.classes)
max_epochs = 10
train_batch_size_per_gpu = 16
train_num_workers = 8

model = dict(
    data_preprocessor=dict(mean=_base_.agbp_data.mean, std=_base_.agbp_data.std),
    backbone=dict(
        window_size=6,
        frozen_stages=4,
        init_cfg=dict(type='Pretrained', checkpoint=agbp_backbone)),
    roi_head=dict(bbox_head=dict(num_classes=num_classes)))

train_dataloader = dict(
    batch_size=train_batch_size_per_gpu,
    num_workers=train_num_workers,
    dataset=dict(_delete_=True, **_base_.agdp_data.dataset,
                 filter_cfg=dict(filter_empty_gt=True, min_size=32),
                 pipeline=_base_.train_pipeline))
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None

optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[6, 8],
         gamma=0.1),
]
train_cfg = dict(max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=train_batch_size_per_gpu)
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=2), logger=dict(interval=50))
randomness = dict(seed=2024)
