# Casting Billet (MVIT metal datasets, 6 defect classes) for fine-tuning, as COCO:
# <root>/images/ and <root>/annotations/{train,val}.json (file_name relative to images/).
# Root: AGSSP_CASTING_BILLET_ROOT (ending in /); training split file: AGSSP_TRAIN_ANN (e.g. the
# paper's 500-image subset, train_mini_500.json). Chosen by AGSSP_DATASET=casting_billet.
finetune_data = dict(
    name='casting_billet',
    classes=('scratch', 'weld slag', 'cutting opening', 'water slag mark', 'slag skin',
             'longitudinal crack'),
    img_root='{{$AGSSP_CASTING_BILLET_ROOT:data/casting_billet/}}images/',
    train_ann_file='{{$AGSSP_CASTING_BILLET_ROOT:data/casting_billet/}}annotations/'
    '{{$AGSSP_TRAIN_ANN:train.json}}',
    val_ann_file='{{$AGSSP_CASTING_BILLET_ROOT:data/casting_billet/}}annotations/val.json',
)
