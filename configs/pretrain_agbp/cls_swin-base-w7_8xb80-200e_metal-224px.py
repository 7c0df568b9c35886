# Baseline twin of agbp_swin-base-w7_8xb80-200e_metal-224px.py: Swin-B (224 px, window 7) on
# source-dataset classification only (label-smoothed CE, weight 1), with the same data,
# augmentation, frozen stages and schedule. The paper's code: 640 images per step in total
# (2 GPUs x 320 there, 8 GPUs x 80 here), AdamW lr 5e-4 x 640 / 512, 20 warm-up epochs then
# cosine, 200 epochs, AMP (add --amp on GPUs), patch embedding + stages 0-1 frozen
# (mmpretrain frozen_stages=1) on ImageNet weights. `--cfg-options auto_scale_lr.enable=True`
# rescales lr for another total batch size.
# Initialisation: freezing random stages feeds noise forward (tools/train.py warns); start from
# ImageNet weights with --cfg-options model.backbone.init_cfg.type=Pretrained
# model.backbone.init_cfg.checkpoint=<mmpretrain Swin-B w7 checkpoint>
# model.backbone.init_cfg.prefix=backbone. (or load_from=<checkpoint>: the 1000-class head is
# skipped with a size-mismatch warning).
# Differences from upstream's ImageNet recipe: no Mixup / CutMix, no geometric RandAugment
# policies and no RandomErasing. In the AGBP twin these would move or remove image content
# that the anomaly map still shows (the target would point at what was erased); the
# photometric policies kept change pixel values only (tests/test_agbp_pipeline_alignment.py).
# The paper's Swin distillation pipeline used none of them either.
_base_ = [
    'mmpretrain::swin_transformer/swin-base_16xb64_in1k.py',
    '../_base_/datasets/agbp_metal.py',
]
custom_imports = dict(imports=['agssp.datasets', 'agssp.models'],
                      allow_failed_imports=False)

num_sources = _base_.agbp_data.num_sources
img_size = 224

data_preprocessor = dict(num_classes=num_sources, mean=_base_.agbp_data.mean,
                         std=_base_.agbp_data.std, to_rgb=True)
bgr_mean = _base_.agbp_data.mean[::-1]

model = dict(
    backbone=dict(img_size=img_size, window_size=7, frozen_stages=1),  # patch embed + stages 0-1
    head=dict(num_classes=num_sources,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original',
                        loss_weight=1.0)),
    train_cfg=None)

photometric_randaug_policies = [
    dict(type='AutoContrast'),
    dict(type='Equalize'),
    dict(type='Invert'),
    dict(type='Posterize', magnitude_range=(4, 0)),
    dict(type='Solarize', magnitude_range=(256, 0)),
    dict(type='SolarizeAdd', magnitude_range=(0, 110)),
    dict(type='ColorTransform', magnitude_range=(0, 0.9)),
    dict(type='Contrast', magnitude_range=(0, 0.9)),
    dict(type='Brightness', magnitude_range=(0, 0.9)),
    dict(type='Sharpness', magnitude_range=(0, 0.9)),
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCropWithMap', scale=img_size, backend='pillow',
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', policies=photometric_randaug_policies, num_policies=2,
         total_level=10, magnitude_level=9, magnitude_std=0.5,
         hparams=dict(pad_val=[round(x) for x in bgr_mean], interpolation='bicubic')),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=80,
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

optim_wrapper = dict(optimizer=dict(lr=5e-4 * 640 / 512))
train_cfg = dict(by_epoch=True, max_epochs=200)
auto_scale_lr = dict(base_batch_size=640, enable=False)
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3), logger=dict(interval=50))
