# AGBP on Swin-B (224 px, window 7): the anomaly map distilled into the last stage (normalised
# L2 loss, weight 2) with the classification loss weighted 0; patch embedding and stages 0-1
# frozen, as in the paper's code. Recipe of the twin (cls_swin-base-w7_8xb80-200e_metal-224px.py):
# 8 x 80 images, AdamW lr 5e-4 x 640 / 512, 20 warm-up epochs then cosine, 200 epochs, --amp;
# `--cfg-options auto_scale_lr.enable=True` rescales lr for another total batch size. Start
# from ImageNet weights (init_cfg or load_from, see the twin): frozen random stages are warned
# about. Every transform moves image and map together or changes pixel values only (the
# twin's photometric RandAugment; no RandomErasing), checked by
# tests/test_agbp_pipeline_alignment.py.
# Backbone for mmdet: tools/model_converters/agbp_to_backbone.py CKPT OUT --target mmdet-swin
_base_ = './cls_swin-base-w7_8xb80-200e_metal-224px.py'

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
