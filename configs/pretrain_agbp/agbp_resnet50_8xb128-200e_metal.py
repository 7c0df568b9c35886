# AGBP on ResNet-50: source-dataset classification (CE weight 0.1) plus distillation of the
# anomaly map into stages 2 and 3 (1024 and 2048 channels; cosine loss 2 - 2cos, weight 1);
# stem and stages 0-1 frozen. Everything else is the baseline twin's
# (cls_resnet50_8xb128-200e_metal.py): 8 x 128 images, SGD lr 0.01, 200 epochs, steps 60/90/180;
# `--cfg-options auto_scale_lr.enable=True` rescales lr for another total batch size.
_base_ = './cls_resnet50_8xb128-200e_metal.py'

model = dict(
    type='AnomalyDistillClassifier',
    head=dict(loss=dict(type='CrossEntropyLoss', loss_weight=0.1)),
    distill_head=dict(
        type='AnomalyMapDistillHead',
        in_indices=(0, 1),
        loss=dict(type='AnomalyMapDistillLoss', mode='cosine', loss_weight=1.0)))

train_pipeline = [
    _base_.train_pipeline[0],
    dict(type='LoadAnomalyMap'),
    *_base_.train_pipeline[1:-1],
    dict(type='PackAnomalyInputs'),
]
train_dataloader = dict(
    dataset=dict(data_prefix=dict(map_path=_base_.agbp_data.map_root), pipeline=train_pipeline))
