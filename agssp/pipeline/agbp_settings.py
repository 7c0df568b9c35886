"""The pipeline's settings of an AGBP config: number of sources and initial weights."""
from pathlib import Path


def set_num_sources(cfg, num_sources: int):
    """One number of sources everywhere: the dataset, the head and the data preprocessor.

    The preprocessor's ``num_classes`` (one-hot labels for batch augmentations) must equal the
    head's; self-supervised configs have neither and keep only the dataset's.
    """
    num_sources = int(num_sources)
    cfg.train_dataloader.dataset.num_sources = num_sources
    head = cfg.model.get('head') or {}
    if 'num_classes' in head:
        head.num_classes = num_sources
    for preprocessor in (cfg.get('data_preprocessor'), cfg.model.get('data_preprocessor')):
        if preprocessor is not None and 'num_classes' in preprocessor:
            preprocessor.num_classes = num_sources
    return cfg


def set_init_checkpoint(cfg, checkpoint):
    """Start AGBP from ``checkpoint`` (``load_from``: whole-model weights, a mismatching head
    skipped with a warning) and freeze the stages the recipe freezes on pretrained weights.

    A config that runs on random weights says what its recipe freezes with the top-level key
    ``frozen_stages_when_pretrained``; without a checkpoint nothing changes.
    """
    if not checkpoint:
        return cfg
    if not Path(checkpoint).is_file():
        raise FileNotFoundError(f'agbp.init_checkpoint: file not found: {checkpoint}')
    cfg.load_from = str(checkpoint)
    if cfg.get('frozen_stages_when_pretrained') is not None:
        cfg.model.backbone.frozen_stages = int(cfg.frozen_stages_when_pretrained)
    return cfg
