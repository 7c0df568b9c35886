# AGDP training data: unlabelled images and their anomaly maps (.npy, paths mirroring the
# images), thresholded into single-class pseudo-defect boxes on the fly (PseudoBoxDataset; the
# paper's threshold: mean of the map maxima - 0.1 per source dataset = first-level folder of the
# map folder; group='pool' for one threshold; scale: the offset's unit, see
# agssp.pseudo_boxes.thresholds.mean_max_thresholds) or read from the COCO file that
# tools/anomaly_maps_to_coco.py wrote from the same maps (file_name relative to img_dir).
# Folders: --cfg-options train_dataloader.dataset.img_dir / .map_dir (defaults: the AGBP
# data's folders); the COCO file instead of the maps: tools/train.py --pseudo-boxes FILE.
# agdp_data.dataset is the train dataset without pipeline / filter_cfg (the detector configs
# add those). StrictCocoDataset (mmyolo's COCO dataset, serving mmdet detectors too and letting
# Mosaic draw images) checks that the file's categories are the classes here.
agdp_data = dict(
    boxes='maps',
    img_dir='data/agbp/images',
    map_dir='data/agbp/maps',
    exclude_suffixes=(),
    threshold=dict(type='mean_max', offset=-0.1, group='source', scale='auto'),
    classes=('defect', ),
)
if agdp_data['boxes'] == 'maps':
    agdp_data['dataset'] = dict(
        type='PseudoBoxDataset', data_root='', img_dir=agdp_data['img_dir'],
        map_dir=agdp_data['map_dir'], threshold=agdp_data['threshold'],
        exclude_suffixes=agdp_data['exclude_suffixes'])
else:
    agdp_data['dataset'] = dict(
        type='StrictCocoDataset', data_root='', ann_file=agdp_data['boxes'],
        data_prefix=dict(img=agdp_data['img_dir']),
        metainfo=dict(classes=agdp_data['classes']))
