# Parts of YOLOv8-s on a ResNet-50 (mmdet ResNet, out stages 1-3 with 512/1024/2048 channels;
# neck and head widen 1.0), merged into a YOLOv8-s config's model. Its own normalisation is
# ImageNet's; AGBP-pretrained backbones use agbp_data's instead.
yolov8_s_resnet50 = dict(
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375]),
    backbone=dict(
        _delete_=True,
        type='mmdet.ResNet',
        depth=50,
        num_stages=4,
        out_indices=(1, 2, 3),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        style='pytorch'),
    neck=dict(widen_factor=1.0, in_channels=[512, 1024, 2048], out_channels=[512, 1024, 2048]),
    bbox_head=dict(head_module=dict(widen_factor=1.0, in_channels=[512, 1024, 2048])),
)
