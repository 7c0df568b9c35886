# YOLOv8-s fine-tuned on the embedded demo data at 256 px on the CPU: a short run that proves
# the stack (mmyolo YOLOv8 + mmcv ops + mmdet COCO metric). Upstream base: mmyolo's YOLOv8-s.
_base_ = [
    'mmyolo::yolov8/yolov8_s_syncbn_fast_8xb16-500e_coco.py',
    '../../_base_/datasets/demo.py',
]
custom_imports = dict(imports=['agssp.datasets'], allow_failed_imports=False)

data_root = _base_.demo_data.data_root
class_names = _base_.demo_data.classes
metainfo = dict(classes=class_names)
num_classes = len(class_names)
img_scale = (256, 256)
max_epochs = 4
close_mosaic_epochs = 1
train_batch_size_per_gpu = 8
train_num_workers = 2
base_lr = 0.0025

model = dict(
    bbox_head=dict(head_module=dict(num_classes=num_classes)),
    train_cfg=dict(assigner=dict(num_classes=num_classes)))

# mmyolo's pipelines without the albumentations step (an optional dependency, p=0.01 each).
pre_transform = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
]
last_transform = [
    dict(type='YOLOv5HSVRandomAug'),
    dict(type='mmdet.RandomFlip', prob=0.5),
    dict(type='mmdet.PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'flip', 'flip_direction')),
]
train_pipeline = [
    *pre_transform,
    dict(type='Mosaic', img_scale=img_scale, pad_val=114.0, pre_transform=pre_transform),
    dict(type='YOLOv5RandomAffine', max_rotate_degree=0.0, max_shear_degree=0.0,
         scaling_ratio_range=(0.5, 1.5), max_aspect_ratio=100,
         border=(-img_scale[0] // 2, -img_scale[1] // 2), border_val=(114, 114, 114)),
    *last_transform,
]
train_pipeline_stage2 = [
    *pre_transform,
    dict(type='YOLOv5KeepRatioResize', scale=img_scale),
    dict(type='LetterResize', scale=img_scale, allow_scale_up=True, pad_val=dict(img=114.0)),
    dict(type='YOLOv5RandomAffine', max_rotate_degree=0.0, max_shear_degree=0.0,
         scaling_ratio_range=(0.5, 1.5), max_aspect_ratio=100, border_val=(114, 114, 114)),
    *last_transform,
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='YOLOv5KeepRatioResize', scale=img_scale),
    dict(type='LetterResize', scale=img_scale, allow_scale_up=False, pad_val=dict(img=114)),
    dict(type='LoadAnnotations', with_bbox=True, _scope_='mmdet'),
    dict(type='mmdet.PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor',
                    'pad_param')),
]

train_dataloader = dict(
    batch_size=train_batch_size_per_gpu,
    num_workers=train_num_workers,
    persistent_workers=True,
    dataset=dict(data_root=data_root, metainfo=metainfo,
                 ann_file=_base_.demo_data.train_ann_file,
                 data_prefix=dict(img=_base_.demo_data.train_img_prefix),
                 filter_cfg=dict(filter_empty_gt=False, min_size=2),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=2,
    dataset=dict(data_root=data_root, metainfo=metainfo,
                 ann_file=_base_.demo_data.val_ann_file,
                 data_prefix=dict(img=_base_.demo_data.val_img_prefix),
                 test_mode=True, batch_shapes_cfg=None, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + _base_.demo_data.val_ann_file, classwise=True)
test_evaluator = val_evaluator

optim_wrapper = dict(optimizer=dict(lr=base_lr, batch_size_per_gpu=train_batch_size_per_gpu))
param_scheduler = None
train_cfg = dict(max_epochs=max_epochs, val_interval=2,
                 dynamic_intervals=[(max_epochs - close_mosaic_epochs, 1)])
default_hooks = dict(
    param_scheduler=dict(max_epochs=max_epochs, warmup_epochs=1, warmup_mim_iter=10),
    checkpoint=dict(interval=2, max_keep_ckpts=1, save_best='coco/bbox_mAP_50', rule='greater'),
    logger=dict(interval=5))
custom_hooks = [
    dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0001, update_buffers=True,
         strict_load=False, priority=49),
    dict(type='mmdet.PipelineSwitchHook', switch_epoch=max_epochs - close_mosaic_epochs,
         switch_pipeline=train_pipeline_stage2),
]
env_cfg = dict(cudnn_benchmark=False)
