# Steel Pipe (MVIT metal datasets, 4 defect classes) for fine-tuning, as COCO:
# <root>/images/ and <root>/annotations/{train,val}.json (file_name relative to images/).
# Chosen by tools/train.py --dataset steel_pipe; another root or split file: --img-root,
# --train-ann, --val-ann (agssp.engine.detector_adapter).
finetune_data = dict(
    name='steel_pipe',
    classes=('warp', 'external fold', 'wrinkle', 'scratch'),
    img_root='data/steel_pipe/images/',
    train_ann_file='data/steel_pipe/annotations/train.json',
    val_ann_file='data/steel_pipe/annotations/val.json',
)
