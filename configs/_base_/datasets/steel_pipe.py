# Steel Pipe (MVIT metal datasets, 4 defect classes) for fine-tuning, as COCO:
# <root>/images/ and <root>/annotations/{train,val}.json (file_name relative to images/).
# Root: AGSSP_STEEL_PIPE_ROOT (ending in /); training split file: AGSSP_TRAIN_ANN.
# Chosen by AGSSP_DATASET=steel_pipe.
finetune_data = dict(
    name='steel_pipe',
    classes=('warp', 'external fold', 'wrinkle', 'scratch'),
    img_root='{{$AGSSP_STEEL_PIPE_ROOT:data/steel_pipe/}}images/',
    train_ann_file='{{$AGSSP_STEEL_PIPE_ROOT:data/steel_pipe/}}annotations/'
    '{{$AGSSP_TRAIN_ANN:train.json}}',
    val_ann_file='{{$AGSSP_STEEL_PIPE_ROOT:data/steel_pipe/}}annotations/val.json',
)
