# KeAD anomaly maps for NEU-DET: open_clip ViT-B-16-plus-240 (laion400m_e32), 15x15 maps.
custom_imports = dict(imports=['agssp.anomaly'], allow_failed_imports=False)

# Images are resized to input_size (H, W) without keeping the aspect ratio, bicubic, and passed
# as float RGB 0..255; KeAD applies the CLIP mean/std itself.
input_size = (240, 240)
preprocess = dict(input_size=input_size, keep_ratio=False, interpolation='bicubic',
                  channel_order='rgb', value_range=(0, 255))

# The weights file cannot be downloaded on these machines: fetch it elsewhere
# (https://github.com/mlfoundations/open_clip/releases/download/v0.2-weights/
# vit_b_16_plus_240-laion400m_e32-699c4b84.pt) and place it here, or override model.weights.
model = dict(
    type='KeAD',
    model_name='ViT-B-16-plus-240',
    weights='checkpoints/vit_b_16_plus_240-laion400m_e32-699c4b84.pt',
    knowledge='neu_det',
    layers=(3, 6, 9, 12),
    surgery_blocks=9,
    temperature=0.07,
    k_shot=4,
    input_size=input_size,
    device='cpu',
    # 'reference': the reference's 21 templates; 'agssp': this project's earlier 20.
    templates='reference',
    # 'mean': each chosen layer's own map; 'reference': the reference's in-place V-V update
    # (layers 6 and 9 equal layer 12, so each map is 1/4 layer 3 + 3/4 layer 12).
    layer_fusion='mean',
    # Per-class prompts and few-shot memories, class = first-level folder of the image root
    # (reference_dir/<class>/ then holds each class's normal references); None: on when the
    # pool has several first-level folders. class_knowledge maps folders to knowledge files;
    # other folders use the shipped knowledge of the same name, else this knowledge with the
    # folder name as the object.
    per_class=None,
    class_knowledge=dict())
