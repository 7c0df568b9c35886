# AGBP with SimMIM on Swin-B (192 px, window 6, mask ratio 0.6, mask patch 32): SimMIM's
# reconstruction loss on the masked forward plus the anomaly map distilled into the last stage
# on an unmasked forward of the same batch (normalised L2, weight 2); patch embedding and first
# stage frozen. Recipe of the twin (simmim_swin-base-w6_8xb56-500e_metal-192px.py): 8 x 56
# images, AdamW lr 1e-4 x 448 / 512, 500 epochs; auto_scale_lr as there.
# Backbone for mmdet (window 7): agbp_to_backbone.py CKPT OUT --target mmdet-swin --window-size 7
_base_ = './simmim_swin-base-w6_8xb56-500e_metal-192px.py'

model = dict(
    type='AnomalyDistillSimMIM',
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
