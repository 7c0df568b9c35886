# Baseline twin of agbp_simmim_swin-base-w6_8xb56-500e_metal-192px.py: SimMIM on Swin-B
# (192 px, window 6, mask ratio 0.6, mask patch 32) on the metal images only, with the same
# data, frozen first stage and schedule. Recipe: 448 images per step in total (8 GPUs x 56),
# AdamW lr 1e-4 x 448 / 512, 10 warm-up epochs then cosine, 500 epochs;
# `--cfg-options auto_scale_lr.enable=True` rescales lr for another total batch size.
# Upstream trains with AMP; here the optimizer wrapper is plain (CPU-safe): add --amp on GPUs.
# Frozen stages expect pretrained weights: --cfg-options load_from=CKPT or
# model.backbone.init_cfg=dict(type='Pretrained', checkpoint=CKPT, prefix='backbone.');
# tools/train.py warns when they would freeze random weights.
_base_ = [
    'mmpretrain::simmim/simmim_swin-base-w6_8xb256-amp-coslr-100e_in1k-192px.py',
    '../_base_/datasets/agbp_metal.py',
]
custom_imports = dict(imports=['agssp.datasets', 'agssp.models'],
                      allow_failed_imports=False)

img_size = 192
max_epochs = 500
warmup_epochs = 10

data_preprocessor = dict(mean=_base_.agbp_data.mean, std=_base_.agbp_data.std, to_rgb=True)
model = dict(backbone=dict(img_size=img_size, frozen_stages=0))  # patch embed + stage 0

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCropWithMap', scale=img_size, crop_ratio_range=(0.67, 1.0)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='SimMIMMaskGenerator', input_size=img_size, mask_patch_size=32,
         model_patch_size=4, mask_ratio=0.6),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=56,
    num_workers=8,
    dataset=dict(
        _delete_=True,
        type='AnomalyMapDataset',
        ann_file=_base_.agbp_data.ann_file,
        data_prefix=dict(img_path=_base_.agbp_data.img_root),
        num_sources=_base_.agbp_data.num_sources,
        exclude_suffixes=_base_.agbp_data.exclude_suffixes,
        pipeline=train_pipeline))

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(lr=1e-4 * 448 / 512))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min=1e-6,
         by_epoch=True, begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=448, enable=False)
default_hooks = dict(logger=dict(interval=50))
