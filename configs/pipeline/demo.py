# The main job: AGSSP end to end on the embedded demo data, CPU-sized (6.8 minutes on 2 idle
# cores at 0dff892, the install aside; see the README).
# python tools/run_pipeline.py configs/pipeline/demo.py
# Every stage's size lives here; the stage configs are the project's own (paper recipes),
# with these overrides merged in, so the same command scales up by editing numbers.
work_dir = 'work_dirs/pipeline_demo'
metal_mean = [110.30, 113.43, 109.91]
metal_std = [32.03, 30.61, 30.27]

# 1. data: synthetic surfaces (3 kinds = 3 "source datasets"), masks and boxes, seeded.
data = dict(type='demo', root='data/demo_pipeline', num_unlabelled=800, num_train=80,
            num_val=40, size=192, seed=0)

# 2-3. anomaly maps: the weights-free method trained on the unlabelled pool, then the maps.
anomaly = dict(
    config='configs/anomaly/synthseg_neu.py',
    overrides={'input_size': (128, 128), 'model.input_size': (128, 128),
               'train.iterations': 300, 'train.checkpoint_interval': 100})

# 4. AGBP: YOLOv8-s CSPDarknet, source classification + map distillation (stages 3, 4).
agbp = dict(
    config='configs/pretrain_agbp/agbp_cspdarknet-yolov8s_cpu-short_mt-neu.py',
    target='mmyolo-cspdarknet',
    overrides={'train_cfg.max_iters': 300, 'default_hooks.checkpoint.interval': 100,
               'param_scheduler.milestones': [240], 'train_dataloader.batch_size': 16})

# 5. pseudo boxes: the paper's rule and threshold (mean of map maxima - 0.1).
pseudo_boxes = dict(threshold=dict(type='mean_max', offset=-0.1), workers=2, num_drawn=8)

# 6. AGDP: backbone frozen (from AGBP), neck + head on pseudo boxes.
agdp = dict(config='configs/pretrain_agdp/yolov8_s_cspdarknet_agdp.py', img_scale=(160, 160),
            epochs=3, close_mosaic_epochs=1, batch_size=8, num_workers=2)

# 7. fine-tuning, twice per seed: from scratch and from the AGSSP detector.
finetune = dict(
    config='configs/finetune/yolo/yolov8_s_cspdarknet_demo.py', img_scale=(160, 160),
    epochs=24, close_mosaic_epochs=4, val_interval=3, batch_size=8, num_workers=2, seeds=[0],
    overrides={'model.data_preprocessor.mean': metal_mean,
               'model.data_preprocessor.std': metal_std})

report = dict()
