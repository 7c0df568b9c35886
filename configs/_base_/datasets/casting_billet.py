# Casting Billet (MVIT metal datasets, 6 defect classes) for fine-tuning, as COCO:
# <root>/images/ and <root>/annotations/{train,val}.json (file_name relative to images/).
# Chosen by tools/train.py --dataset casting_billet; another root or split file: --img-root,
# --train-ann, --val-ann (agssp.engine.detector_adapter).
finetune_data = dict(
    name='casting_billet',
    classes=('scratch', 'weld slag', 'cutting opening', 'water slag mark', 'slag skin',
             'longitudinal crack'),
    img_root='data/casting_billet/images/',
    train_ann_file='data/casting_billet/annotations/train.json',
    val_ann_file='data/casting_billet/annotations/val.json',
)
