# mmyolo's YOLOv8-s (CSPDarknet, Mosaic then a plain stage-2 pipeline) without the
# albumentations step of its pipelines (an optional dependency, p=0.01 each), at
# 640 px (tools/train.py --img-size N, the paper's; smaller for CPU runs). Detector configs set the
# data, the schedule and custom_hooks[1].switch_epoch (= max_epochs - close_mosaic_epochs).
_base_ = 'mmyolo::yolov8/yolov8_s_syncbn_fast_8xb16-500e_coco.py'

img_scale = (640, 640)
# Size arguments of upstream's transforms at img_scale: Mosaic's canvas and the affine border
# that crops it back (stage 1), the letterbox resize (stage 2 and test).
mosaic_sizes = dict(Mosaic=dict(img_scale=img_scale),
                    YOLOv5RandomAffine=dict(border=(-img_scale[0] // 2, -img_scale[1] // 2)))
resize_sizes = dict(YOLOv5KeepRatioResize=dict(scale=img_scale),
                    LetterResize=dict(scale=img_scale))

train_pipeline = [dict(t, **mosaic_sizes.get(t['type'], {})) for t in _base_.train_pipeline
                  if t['type'] != 'mmdet.Albu']
train_pipeline_stage2 = [dict(t, **resize_sizes.get(t['type'], {}))
                         for t in _base_.train_pipeline_stage2 if t['type'] != 'mmdet.Albu']
test_pipeline = [dict(t, **resize_sizes.get(t['type'], {})) for t in _base_.test_pipeline]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
custom_hooks = [
    _base_.custom_hooks[0],
    dict(_base_.custom_hooks[1], switch_pipeline=train_pipeline_stage2),
]
