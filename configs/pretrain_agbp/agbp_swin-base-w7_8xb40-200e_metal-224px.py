# AGBP on Swin-B (224 px, window 7): the anomaly map distilled into the last stage (normalised
# L2 loss, weight 2) with the classification loss weighted 0; patch embedding and the first
# stage frozen. Recipe of the twin (cls_swin-base-w7_8xb40-200e_metal-224px.py): 8 x 40
# images, AdamW lr 5e-4 x 320 / 512, 20 warm-up epochs then cosine, 200 epochs;
# `--cfg-options auto_scale_lr.enable=True` rescales lr for another total batch size.
# Backbone for mmdet: tools/model_converters/agbp_to_backbone.py CKPT OUT --target mmdet-swin
_base_ = './cls_swin-base-w7_8xb40-200e_metal-224px.py'

model = dict(
    type='AnomalyDistillClassifier',
    head=dict(loss=dict(loss_weight=0.0)),
    distill_head=dict(
        type='AnomalyMapDistillHead',
        in_indices=(-1, ),
        loss=dict(type='AnomalyMapDistillLoss', mode='normalized_l2', loss_weight=2.0)))

train_pipeline = [
    _base_.train_pipeline[0],
    dict(type='LoadAnomalyMap'),
    *_base_.train_pipeline[1:-1],
    dict(type='PackAnomalyInputs'),
]
train_dataloader = dict(
    dataset=dict(data_prefix=dict(map_path=_base_.agbp_data.map_root), pipeline=train_pipeline))
