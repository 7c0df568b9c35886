"""Which labelled file each use reads, from the data stage's description (``data.json``)."""


def held_out_split(info) -> tuple:
    """(COCO file, image folder) of the test split: evaluated once per run, chosen by nothing.

    Data descriptions written before the split existed name only ``val_ann``: it is both.
    """
    if 'test_ann' in info:
        return info['test_ann'], info['test_img_dir']
    return info['val_ann'], info['val_img_dir']


def train_ann_of(info, seed) -> str:
    """The labelled training file of ``seed`` in a data description."""
    if 'train_anns' not in info:
        return info['train_ann']
    if str(seed) not in info['train_anns']:
        raise ValueError(f'fine-tuning seed {seed} has no labelled split: the data stage '
                         f'wrote seeds {sorted(info["train_anns"])} (data.labelled_seeds)')
    return info['train_anns'][str(seed)]
