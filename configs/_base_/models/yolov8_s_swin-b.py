# Parts of YOLOv8-s on a Swin-B (mmdet SwinTransformer, out stages 1-3 with 256/512/1024
# channels; neck and head widen 1.0), merged into a YOLOv8-s config's model; the config sets
# backbone.window_size (6: SimMIM-pretrained, 7: supervised). Its own normalisation is
# ImageNet's; AGBP-pretrained backbones use agbp_data's instead.
_base_ = './swin_b.py'

yolov8_s_swin_b = dict(
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375]),
    backbone=dict(_base_.swin_b, _delete_=True, out_indices=(1, 2, 3), frozen_stages=-1),
    neck=dict(widen_factor=1.0, in_channels=_base_.swin_b_channels[1:],
              out_channels=_base_.swin_b_channels[1:]),
    bbox_head=dict(head_module=dict(widen_factor=1.0, in_channels=_base_.swin_b_channels[1:])),
)
