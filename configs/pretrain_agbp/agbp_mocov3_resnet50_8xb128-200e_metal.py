# AGBP with MoCo v3 on ResNet-50 (the paper's code shipped no config for it): upstream's MoCo v3
# loss plus the anomaly map distilled into the last stage of the first view's backbone output
# (cosine loss 2 - 2cos, weight 1); stem and stages 0-1 frozen. Recipe of the twin
# (mocov3_resnet50_8xb128-200e_metal.py): 8 x 128 images, LARS lr 2.4, 200 epochs;
# auto_scale_lr as there. Backbone for mmdet: agbp_to_backbone.py CKPT OUT --target mmdet-resnet
_base_ = './mocov3_resnet50_8xb128-200e_metal.py'

model = dict(
    type='AnomalyDistillMoCoV3',
    distill_head=dict(
        type='AnomalyMapDistillHead',
        in_indices=(-1, ),
        loss=dict(type='AnomalyMapDistillLoss', mode='cosine', loss_weight=1.0)))

train_pipeline = [
    _base_.train_pipeline[0],
    dict(type='LoadAnomalyMap'),
    dict(_base_.train_pipeline[1], type='MultiViewWithMap'),
    dict(type='PackAnomalyInputs'),
]
train_dataloader = dict(
    dataset=dict(data_prefix=dict(map_path=_base_.agbp_data.map_root), pipeline=train_pipeline))
