# Faster R-CNN with FPN on a Swin-B (out stages 0-3 with 128/256/512/1024 channels) at
# 640 px (tools/train.py --img-size N; keep-ratio resize into a square, horizontal flip), ImageNet
# input normalisation. Detector configs set model.backbone.window_size, the data, the schedule.
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', './swin_b.py']

img_scale = (640, 640)

model = dict(
    backbone=dict(_base_.swin_b, _delete_=True, out_indices=(0, 1, 2, 3)),
    neck=dict(in_channels=_base_.swin_b_channels))
find_unused_parameters = True

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
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
