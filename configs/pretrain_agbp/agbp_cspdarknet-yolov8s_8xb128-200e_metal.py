# AGBP on the YOLOv8-s CSPDarknet: source-dataset classification (CE weight 0.1) plus the
# anomaly map distilled into stages 3 and 4 (cosine loss 2 - 2cos, weight 1); stem and stages
# 1-2 frozen. Recipe of the twin (cls_cspdarknet-yolov8s_8xb128-200e_metal.py): 8 x 128 images,
# SGD lr 0.01, 200 epochs, steps 60/90/180; `--cfg-options auto_scale_lr.enable=True` rescales
# lr for another total batch size. Backbone for AGDP / fine-tuning:
# tools/model_converters/agbp_to_backbone.py CKPT OUT --target mmyolo-cspdarknet
_base_ = './cls_cspdarknet-yolov8s_8xb128-200e_metal.py'

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
