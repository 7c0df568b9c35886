# AGBP pretraining data (agssp.datasets.AnomalyMapDataset): an image root whose first-level
# subfolders are the source datasets (the label), a map root mirroring it (.npy anomaly maps),
# or an annotation file of "<image path> <integer label> <map path>" lines.
# Overrides: --cfg-options on the dataloader (data_prefix.img_path / map_path) and the head's size (the
# classification head's size). Annotation-file mode:
# --cfg-options train_dataloader.dataset.ann_file=<file> (paths in it relative to the roots).
# Keys are prefixed agbp_ so that this file never clashes with an upstream base.
agbp_data = dict(
    img_root='data/agbp/images',
    map_root='data/agbp/maps',
    ann_file='',  # '' = folder mode
    num_sources=2,
    exclude_suffixes=(),
    # RGB mean / std of metal surface images (the paper's pretraining set).
    mean=[110.30, 113.43, 109.91],
    std=[32.03, 30.61, 30.27],
)
