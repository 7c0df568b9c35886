# DINO (4 scales) on a Swin-B (out stages 1-3 with 256/512/1024 channels) with the paper's
# settings: 100 queries, 300 denoising queries, classification loss weight 2, Deformable-DETR
# positional encoding (offset -0.5, temperature 10000); upstream's multi-scale augmentation at
# the paper's 640 px scale (tools/train.py --img-size scales it); AdamW lr 1e-4 with backbone, sampling
# offsets and reference points at lr x0.1. ImageNet input normalisation. Detector configs set
# model.backbone.window_size, the data and the schedule.
_base_ = ['mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py', './swin_b.py']

img_size = 640
img_scale = (img_size, img_size)
# The multi-scale sizes at 640 px ((width, height) pairs, as the paper's), scaled to img_size.
dino_resize_scales = [(img_size * w // 640, img_size * h // 640)
                      for w, h in [(640, 640), (480, 640), (768, 640)]]
dino_crop_resize_scales = [(img_size * w // 640, img_size * h // 640)
                           for w, h in [(400, 640), (500, 640), (600, 640)]]
dino_crop_size = (img_size * 384 // 640, img_size * 600 // 640)

model = dict(
    num_queries=100,
    backbone=dict(_base_.swin_b, _delete_=True, out_indices=(1, 2, 3)),
    neck=dict(in_channels=_base_.swin_b_channels[1:]),
    positional_encoding=dict(offset=-0.5, temperature=10000),
    bbox_head=dict(loss_cls=dict(loss_weight=2.0)),
    dn_cfg=dict(group_cfg=dict(num_dn_queries=300)))
find_unused_parameters = True

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomChoice',
        transforms=[
            [dict(type='RandomChoiceResize', scales=dino_resize_scales, keep_ratio=True)],
            [
                dict(type='RandomChoiceResize', scales=dino_crop_resize_scales,
                     keep_ratio=True),
                dict(type='RandomCrop', crop_type='absolute_range', crop_size=dino_crop_size,
                     allow_negative_crop=True),
                dict(type='RandomChoiceResize', scales=dino_resize_scales, keep_ratio=True),
            ],
        ]),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={
        'backbone': dict(lr_mult=0.1),
        'sampling_offsets': dict(lr_mult=0.1),
        'reference_points': dict(lr_mult=0.1),
    }))
