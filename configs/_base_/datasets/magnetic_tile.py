# Magnetic Tile (5 defect classes; defect-free MT_Free images kept without boxes) for
# fine-tuning. Images stay where they are (AGSSP_MAGNETIC_TILE_ROOT, default
# ../shared/data/magnetic-tile/); the COCO files come from masks_to_coco.py then split_coco.py
# (README "Datasets and converters") in AGSSP_MAGNETIC_TILE_ANN_DIR (default
# data/magnetic_tile/), file_name relative to the image root.
# Training split file: AGSSP_TRAIN_ANN. Chosen by AGSSP_DATASET=magnetic_tile.
finetune_data = dict(
    name='magnetic_tile',
    classes=('Blowhole', 'Break', 'Crack', 'Fray', 'Uneven'),
    img_root='{{$AGSSP_MAGNETIC_TILE_ROOT:../shared/data/magnetic-tile/}}',
    train_ann_file='{{$AGSSP_MAGNETIC_TILE_ANN_DIR:data/magnetic_tile/}}'
    '{{$AGSSP_TRAIN_ANN:train.json}}',
    val_ann_file='{{$AGSSP_MAGNETIC_TILE_ANN_DIR:data/magnetic_tile/}}val.json',
)
