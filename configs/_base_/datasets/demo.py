# The embedded demo dataset written by `tools/make_demo_data.py data/demo`;
# another copy: --cfg-options on the dataloaders (data_root is relative to the run's folder).
demo_data = dict(
    data_root='data/demo/',
    classes=('crack', 'inclusion', 'patch', 'pit', 'scratch'),
    train_ann_file='labelled/annotations/train.json',
    train_img_prefix='labelled/train/images/',
    val_ann_file='labelled/annotations/val.json',
    val_img_prefix='labelled/val/images/',
    unlabelled_img_dir='unlabelled/images/',
)
