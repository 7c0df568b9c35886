# A CPU-sized AGBP run of the YOLOv8-s CSPDarknet recipe on real images: Magnetic Tile and
# NEU-DET as two source datasets (folder mode), 128 px, batch 16, 600 iterations, 10 % of the
# images (chosen by a hash of their path) held out for measuring alignment. Set-up and commands:
# docs/agbp.md. Image / map roots: --cfg-options on the dataloader (see
# configs/_base_/datasets/agbp_metal.py); Magnetic Tile's .png masks are not images here.
# It starts from random weights (no ImageNet weights reach these machines), so nothing is
# frozen: the recipe freezes the stem and stages 1-2 of a pretrained backbone (load_from);
# frozen random stages feed noise forward (measured in docs/agbp.md: much weaker alignment).
_base_ = './agbp_cspdarknet-yolov8s_8xb128-200e_metal.py'

img_size = 128
max_iters = 600

model = dict(backbone=dict(frozen_stages=-1))
# What the recipe freezes once pretrained weights are named: the pipeline's
# agbp.init_checkpoint (load_from) sets model.backbone.frozen_stages to it.
frozen_stages_when_pretrained = _base_.model.backbone.frozen_stages

train_pipeline = [
    dict(t, scale=img_size) if t['type'] == 'RandomResizedCropWithMap' else t
    for t in _base_.train_pipeline
]
train_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=False,
    dataset=dict(exclude_suffixes=('.png', ), heldout_fraction=0.1, split='train',
                 pipeline=train_pipeline))

optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = dict(_delete_=True, type='MultiStepLR', by_epoch=False,
                       milestones=[480], gamma=0.1)
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1),
    logger=dict(interval=10))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
env_cfg = dict(mp_cfg=dict(opencv_num_threads=1))
