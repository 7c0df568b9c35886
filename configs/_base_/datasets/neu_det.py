# NEU-DET (hot-rolled strip, 6 defect classes) for fine-tuning. Images stay where they are
# (AGSSP_NEU_DET_ROOT, default ../shared/data/neu-det/); the COCO files come from the commands
# in the README ("Datasets and converters": voc_to_coco.py then split_coco.py) in
# AGSSP_NEU_DET_ANN_DIR (default data/neu_det/), file_name relative to the image root.
# Training split file: AGSSP_TRAIN_ANN (train.json, or train_10pct.json for 10 % labels).
# Chosen by AGSSP_DATASET=neu_det (the default).
finetune_data = dict(
    name='neu_det',
    classes=('crazing', 'inclusion', 'patches', 'pitted_surface', 'rolled-in_scale',
             'scratches'),
    img_root='{{$AGSSP_NEU_DET_ROOT:../shared/data/neu-det/}}',
    train_ann_file='{{$AGSSP_NEU_DET_ANN_DIR:data/neu_det/}}{{$AGSSP_TRAIN_ANN:train.json}}',
    val_ann_file='{{$AGSSP_NEU_DET_ANN_DIR:data/neu_det/}}val.json',
)
