# NEU-DET (hot-rolled strip, 6 defect classes) for fine-tuning. Images stay where they are
# (../shared/data/neu-det/); the COCO files come from the commands in the README
# ("Datasets and converters": voc_to_coco.py then split_coco.py) in data/neu_det/,
# file_name relative to the image root (train_10pct.json for 10 % labels: --train-ann).
# Chosen by tools/train.py --dataset neu_det; another root or split file: --img-root,
# --train-ann, --val-ann (agssp.engine.detector_adapter). The default dataset.
finetune_data = dict(
    name='neu_det',
    classes=('crazing', 'inclusion', 'patches', 'pitted_surface', 'rolled-in_scale',
             'scratches'),
    img_root='../shared/data/neu-det/',
    train_ann_file='data/neu_det/train.json',
    val_ann_file='data/neu_det/val.json',
)
