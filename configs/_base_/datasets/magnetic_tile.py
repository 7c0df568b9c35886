# Magnetic Tile (5 defect classes; defect-free MT_Free images kept without boxes) for
# fine-tuning. Images stay where they are (../shared/data/magnetic-tile/); the COCO files
# come from masks_to_coco.py then split_coco.py (README "Datasets and converters") in
# data/magnetic_tile/, file_name relative to the image root.
# Chosen by tools/train.py --dataset magnetic_tile; another root or split file: --img-root,
# --train-ann, --val-ann (agssp.engine.detector_adapter).
finetune_data = dict(
    name='magnetic_tile',
    classes=('Blowhole', 'Break', 'Crack', 'Fray', 'Uneven'),
    img_root='../shared/data/magnetic-tile/',
    train_ann_file='data/magnetic_tile/train.json',
    val_ann_file='data/magnetic_tile/val.json',
)
