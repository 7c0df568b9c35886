# GC10-DET (steel plate, 10 defect classes) for fine-tuning, as COCO:
# <root>/images/ and <root>/annotations/{train,val}.json (file_name relative to images/), e.g.
# from its VOC files with tools/dataset_converters/voc_to_coco.py + split_coco.py. The class
# names are the dataset's own VOC names: punching hole, welding line, crescent gap, water spot,
# oil spot, silk spot, inclusion, rolled pit, crease, waist folding.
# Chosen by tools/train.py --dataset gc10_det; another root or split file: --img-root,
# --train-ann, --val-ann (agssp.engine.detector_adapter).
finetune_data = dict(
    name='gc10_det',
    classes=('1_chongkong', '2_hanfeng', '3_yueyawan', '4_shuiban', '5_youban', '6_siban',
             '7_yiwu', '8_yahen', '9_zhehen', '10_yaozhe'),
    img_root='data/gc10_det/images/',
    train_ann_file='data/gc10_det/annotations/train.json',
    val_ann_file='data/gc10_det/annotations/val.json',
)
