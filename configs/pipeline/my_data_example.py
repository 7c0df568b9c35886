# AGSSP on your own data. Copy this file, edit the paths and sizes, then run
#   .venv/bin/python tools/run_pipeline.py configs/pipeline/my_data.py
# Paths are relative to the repository root (or absolute). File names inside a COCO file are
# relative to its image folder. Nothing else is read: no environment variable, no other file.
work_dir = 'work_dirs/pipeline_my_data'
seeds = [0, 1, 2]  # one labelled subset and one fine-tuning run per seed
img_scale = (320, 320)  # every detector stage; 640 is the paper's size (a GPU's)

data = dict(
    type='coco',
    # Unlabelled pool: each folder is one source dataset for AGBP's classification task (give
    # at least two: e.g. one per line, product or camera). Or one folder + sources='subfolders'.
    unlabelled=['data/my_plant/unlabelled/line_1', 'data/my_plant/unlabelled/line_2'],
    sources='folders',
    exclude_suffixes=[],  # e.g. ['.png'] when masks lie beside the images
    # Labelled set (COCO boxes, e.g. from tools/dataset_converters/labelme_to_coco.py).
    train_ann='data/my_plant/coco/train.json', train_img_dir='data/my_plant/images',
    # Validation (the best checkpoint is chosen on it): a COCO file, or None for a seeded,
    # stratified val_fraction of the labelled set.
    val_ann=None, val_img_dir=None, val_fraction=0.2, split_seed=0,
    # Test: evaluated only, never chosen on; its images are kept out of the pool.
    test_ann='data/my_plant/coco/test.json', test_img_dir=None,
    # Few-label runs: a seeded, stratified fraction of the labelled set per seed (None = all).
    labelled_fraction=None, labelled_seeds=seeds,
    # Optional truth of the pool, used only to score maps and pseudo boxes: mask folders
    # mirroring the unlabelled folders (same shape as `unlabelled`), or COCO boxes.
    unlabelled_masks=None,
    unlabelled_boxes=[])  # e.g. [dict(ann_file='pool_boxes.json', img_dir='data/my_plant')]

# SynthSeg anomaly maps (weights-free), trained on the pool.
anomaly = dict(
    config='configs/anomaly/synthseg.py',  # the default recipe: aspect and layout from the data
    overrides={'train.iterations': 1000, 'train.checkpoint_interval': 250})

# AGBP: YOLOv8-s CSPDarknet, source classification + map distillation.
agbp = dict(
    config='configs/pretrain_agbp/agbp_cspdarknet-yolov8s_cpu-short_mt-neu.py',
    target='mmyolo-cspdarknet',
    overrides={'train_cfg.max_iters': 600, 'default_hooks.checkpoint.interval': 200,
               'param_scheduler.milestones': [480]})

pseudo_boxes = dict(threshold=dict(type='mean_max', offset=-0.1), workers=2, num_drawn=8)

agdp = dict(config='configs/pretrain_agdp/yolov8_s_cspdarknet_agdp.py', img_scale=img_scale,
            epochs=3, close_mosaic_epochs=1, batch_size=8, num_workers=2)

finetune = dict(
    config='configs/finetune/yolo/yolov8_s_cspdarknet_baseline.py', img_scale=img_scale,
    epochs=50, close_mosaic_epochs=5, val_interval=5, batch_size=8, num_workers=2, seeds=seeds,
    overrides={'optim_wrapper.optimizer.lr': 0.01,
               'default_hooks.param_scheduler.warmup_mim_iter': 50,
               'default_hooks.checkpoint.interval': 5})

report = dict()
