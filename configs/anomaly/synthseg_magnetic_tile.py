# SynthSeg (weights-free) anomaly maps for Magnetic Tile: trained on the unlabelled images.
#   python tools/train_anomaly_model.py configs/anomaly/synthseg_magnetic_tile.py \
#       --img-dir ../shared/data/magnetic-tile --list TRAIN_LIST --work-dir WORK
#   python tools/generate_anomaly_maps.py configs/anomaly/synthseg_magnetic_tile.py \
#       --img-dir IMAGES --out-dir MAPS --cfg-options checkpoint=WORK/synthseg.pth
custom_imports = dict(imports=['agssp.anomaly'], allow_failed_imports=False)

# Images are resized to input_size (H, W) without keeping the aspect ratio, bicubic, as float
# RGB 0..255; SynthSeg averages the channels and standardises each image itself.
input_size = (256, 256)

model = dict(
    type='SynthSeg',
    input_size=input_size,
    widths=(16, 32, 64, 96, 128),
    decoder_channels=48,
    # Magnetic Tile crops show the tile at the same place: one Gaussian per 8x8 cell.
    layout='positional',
    weights=dict(segmentation=1.0, texture=1.0, feature=1.0),
    trim=0.1,
    shrinkage=0.01)

# Training (tools/train_anomaly_model.py): 2000 iterations, about 13 minutes on a 2-core CPU.
train = dict(
    iterations=2000,
    batch_size=16,
    lr=2e-3,
    weight_decay=1e-4,
    warmup_ratio=0.05,
    seed=0,
    bf16=True,            # bfloat16 autocast (fast on CPUs with AVX512-BF16 / AMX)
    # One thread: on a 2-core machine shared with other jobs, 2 OpenMP threads spin-wait and
    # ran 4-7x slower per iteration than 1 thread (measured); alone, 2 threads are ~1.7x faster.
    num_threads=1,
    checkpoint_interval=50,
    log_interval=20,
    synthetic=dict(
        weights=dict(uneven=3, crack=2, pit=1.5, paste=2, blur=1, edge_chunk=1),
        normal_prob=0.25, max_defects=2, min_change=0.04))

# Map generation (tools/generate_anomaly_maps.py).
checkpoint = 'work_dirs/synthseg_magnetic_tile/synthseg.pth'
batch_size = 16
num_workers = 2
dtype = 'float16'
