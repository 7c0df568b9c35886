# Swin-B as a detector backbone (mmdet's SwinTransformer, usable from mmdet and mmyolo scopes).
# Detector configs set window_size (6: SimMIM-pretrained, 7: supervised), out_indices,
# frozen_stages and init_cfg. Weights come from tools/model_converters/agbp_to_backbone.py
# (--target mmdet-swin), already in mmdet's layout: convert_weights=False.
swin_b = dict(
    type='mmdet.SwinTransformer',
    embed_dims=128,
    depths=[2, 2, 18, 2],
    num_heads=[4, 8, 16, 32],
    window_size=7,
    mlp_ratio=4,
    qkv_bias=True,
    qk_scale=None,
    drop_rate=0.,
    attn_drop_rate=0.,
    drop_path_rate=0.3,
    patch_norm=True,
    with_cp=False,
    convert_weights=False,
)
# Output channels of stages 0-3.
swin_b_channels = [128, 256, 512, 1024]
