# Baseline twin of agbp_mocov3_resnet50_8xb128-200e_metal.py: MoCo v3 on ResNet-50 on the
# metal images only, with the same data, frozen stages (stem, stages 0-1) and schedule. The
# paper's code shipped no MoCo v3 config; this follows the ResNet-50 recipe's batch (1024 in
# total, 8 GPUs x 128) and 200 epochs, with upstream's LARS lr 9.6 per 4096 images scaled to
# 1024 (2.4), 10 warm-up epochs then cosine; `--cfg-options auto_scale_lr.enable=True`
# rescales lr for another total batch size. Upstream trains with AMP and SyncBN: add --amp on
# GPUs; SyncBN needs CUDA when distributed (a single process falls back to plain BN).
# Frozen stages expect pretrained weights: --cfg-options load_from=CKPT or
# model.backbone.init_cfg=dict(type='Pretrained', checkpoint=CKPT, prefix='backbone.');
# tools/train.py warns when they would freeze random weights.
_base_ = [
    'mmpretrain::mocov3/mocov3_resnet50_8xb512-amp-coslr-100e_in1k.py',
    '../_base_/datasets/agbp_metal.py',
]
custom_imports = dict(imports=['agssp.datasets', 'agssp.models'],
                      allow_failed_imports=False)

max_epochs = 200
warmup_epochs = 10

data_preprocessor = dict(mean=_base_.agbp_data.mean, std=_base_.agbp_data.std, to_rgb=True)
model = dict(backbone=dict(frozen_stages=2))

# The first view's crop moves the anomaly map too (when there is one).
view_pipeline1 = [
    dict(_base_.view_pipeline1[0], type='RandomResizedCropWithMap'),
    *_base_.view_pipeline1[1:],
]
view_pipeline2 = _base_.view_pipeline2
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=[1, 1], transforms=[view_pipeline1, view_pipeline2]),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=128,
    num_workers=8,
    dataset=dict(
        _delete_=True,
        type='AnomalyMapDataset',
        ann_file=_base_.agbp_data.ann_file,
        data_prefix=dict(img_path=_base_.agbp_data.img_root),
        num_sources=_base_.agbp_data.num_sources,
        exclude_suffixes=_base_.agbp_data.exclude_suffixes,
        pipeline=train_pipeline))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='LARS', lr=9.6 * 1024 / 4096, weight_decay=1e-6, momentum=0.9),
    paramwise_cfg=_base_.optim_wrapper.paramwise_cfg)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, by_epoch=True,
         begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=1024, enable=False)
default_hooks = dict(logger=dict(interval=50))
