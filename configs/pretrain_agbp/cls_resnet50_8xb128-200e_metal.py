# Baseline twin of agbp_resnet50_8xb128-200e_metal.py: source-dataset classification only (no
# anomaly maps), with the same data, augmentation, frozen stages and schedule.
# Paper recipe: 1024 images per step in total (8 GPUs x 128), SGD lr 0.01, 200 epochs, lr x0.1
# at epochs 60 / 90 / 180. On another total batch size add `--cfg-options
# auto_scale_lr.enable=True` (or tools/train.py --auto-scale-lr): lr scales by batch / 1024.
# Start from ImageNet weights as the paper does: --cfg-options load_from=<mmpretrain ResNet-50
# checkpoint> (its 1000-class head is skipped with a size-mismatch warning).
_base_ = [
    'mmpretrain::resnet/resnet50_8xb32_in1k.py',
    '../_base_/datasets/agbp_metal.py',
]
custom_imports = dict(imports=['agssp.datasets', 'agssp.models'],
                      allow_failed_imports=False)

num_sources = _base_.agbp_data.num_sources
img_size = 224

data_preprocessor = dict(num_classes=num_sources, mean=_base_.agbp_data.mean,
                         std=_base_.agbp_data.std, to_rgb=True)
model = dict(
    # Stages 2 and 3 (1024 and 2048 channels) are the ones AGBP distils; stem, stages 0-1 frozen.
    backbone=dict(out_indices=(2, 3), frozen_stages=2),
    head=dict(num_classes=num_sources, in_channels=2048,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, )))

# Geometric transforms move the anomaly map with the image (when there is one); the
# photometric one changes the image only.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCropWithMap', scale=img_size),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmseg.PhotoMetricDistortion'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='AnomalyMapDataset',
        ann_file=_base_.agbp_data.ann_file,
        data_prefix=dict(img_path=_base_.agbp_data.img_root),
        num_sources=num_sources,
        exclude_suffixes=_base_.agbp_data.exclude_suffixes,
        pipeline=train_pipeline))
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None

optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4))
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[60, 90, 180], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=200)
auto_scale_lr = dict(base_batch_size=1024, enable=False)
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3), logger=dict(interval=50))
