# AGSSP end to end on real NEU-DET, CPU-sized to issue 11's 150 minutes on 2 idle cores:
#   python tools/run_pipeline.py configs/pipeline/neu_det.py
# Unlabelled pool: NEU-DET's training images + all Magnetic Tile images (two source datasets);
# labelled: 10 % of NEU-DET's training split per seed (stratified); a fixed 20 % test split that
# never enters the pool; validation: 25 % of the training images no seed's 10 % uses.
# YOLOv8-s CSPDarknet at 160 px (NEU-DET images are 200 px), 3 seeds.
# Data roots: ../shared/data (see its README); edit data.* to point at another copy.
work_dir = 'work_dirs/pipeline_neu_det'
seeds = [0, 1, 2]
img_scale = (160, 160)
metal_mean = [110.30, 113.43, 109.91]
metal_std = [32.03, 30.61, 30.27]

data = dict(type='neu_det', neu_det_root='../shared/data/neu-det',
            magnetic_tile_root='../shared/data/magnetic-tile', test_fraction=0.2, split_seed=0,
            labelled_fraction=0.1, labelled_seeds=seeds, val_from='unused', val_fraction=0.25)

anomaly = dict(
    config='configs/anomaly/synthseg.py',  # the default recipe: aspect and layout from the data
    overrides={'train.iterations': 1000, 'train.checkpoint_interval': 250})

agbp = dict(
    config='configs/pretrain_agbp/agbp_cspdarknet-yolov8s_cpu-short_mt-neu.py',
    target='mmyolo-cspdarknet',
    overrides={'train_cfg.max_iters': 600, 'default_hooks.checkpoint.interval': 200,
               'param_scheduler.milestones': [480]})

pseudo_boxes = dict(threshold=dict(type='mean_max', offset=-0.1), workers=2, num_drawn=8)

agdp = dict(config='configs/pretrain_agdp/yolov8_s_cspdarknet_agdp.py', img_scale=img_scale,
            epochs=3, close_mosaic_epochs=1, batch_size=8, num_workers=2)

# Five arms x 3 seeds (scratch, cls, agbp, agssp, random_boxes): the paper's rows and the two
# controls; the pretrainings run once and serve every seed. lr 0.01 (the paper: 0.0025 over 500
# epochs at 640 px): a CPU schedule of 720 steps. At 224 px and 50 epochs (157a040) a run took
# about 14 min and the experiment about 4 h; 160 px and 40 epochs size it to the 150 minutes.
finetune = dict(
    config='configs/finetune/yolo/yolov8_s_cspdarknet_baseline.py', img_scale=img_scale,
    arms=['scratch', 'cls', 'agbp', 'agssp', 'random_boxes'],
    epochs=40, close_mosaic_epochs=5, val_interval=10, batch_size=8, num_workers=2, seeds=seeds,
    overrides={'optim_wrapper.optimizer.lr': 0.01,
               'default_hooks.param_scheduler.warmup_mim_iter': 50,
               'default_hooks.checkpoint.interval': 5, 'default_hooks.logger.interval': 9,
               'model.data_preprocessor.mean': metal_mean,
               'model.data_preprocessor.std': metal_std})

report = dict()
