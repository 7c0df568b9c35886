"""The AGDP and fine-tuning configs say what the paper's recipes say (parsed, not trained), and
their datasets fail loudly on wrong paths or class names."""
import json
from pathlib import Path

import numpy as np
import pytest
from detector_helpers import CONFIGS, tiny_config, write_tiny_coco, write_tiny_pseudo_box_data
from mmengine.config import Config
from mmengine.registry import DATASETS, init_default_scope

from agssp.datasets.converters.masks import masks_to_coco
from agssp.datasets.converters.voc import voc_to_coco
from agssp.datasets.strict_coco import ClassMismatchError
from agssp.engine import adapt

AGDP = sorted((CONFIGS / 'pretrain_agdp').glob('*.py'))
FINETUNE = sorted(p for d in ('yolo', 'faster_rcnn', 'dino')
                  for p in (CONFIGS / 'finetune' / d).glob('*_*_*.py') if 'demo' not in p.name)
DATASET_CLASSES = {
    'casting_billet': 6, 'steel_pipe': 4, 'gc10_det': 10, 'neu_det': 6, 'magnetic_tile': 5}
FAMILY_BASELINES = ('yolo/yolov8_s_cspdarknet_baseline.py',
                    'faster_rcnn/faster-rcnn_swin-b-w6_fpn_baseline.py',
                    'dino/dino-4scale_swin-b-w6_baseline.py')


def _load(path):
    return Config.fromfile(str(path))


def _num_classes(model):
    """Every class count a detector config sets (head, assigner)."""
    counts = []
    if 'roi_head' in model:
        counts.append(model.roi_head.bbox_head.num_classes)
    elif 'head_module' in model.bbox_head:
        counts += [model.bbox_head.head_module.num_classes,
                   model.train_cfg.assigner.num_classes]
    else:
        counts.append(model.bbox_head.num_classes)
    return counts


def _ids(paths):
    return [p.stem for p in paths]


@pytest.mark.parametrize('path', AGDP, ids=_ids(AGDP))
def test_agdp_is_single_class_with_a_wholly_frozen_agbp_backbone(path):
    cfg = _load(path)
    assert _num_classes(cfg.model) == [1] * len(_num_classes(cfg.model))
    assert cfg.train_dataloader.dataset.type == 'PseudoBoxDataset'
    backbone = cfg.model.backbone
    assert backbone.frozen_stages == 4  # CSPDarknet: stem + 4 stages; ResNet / Swin: 4 stages
    assert backbone.init_cfg.type == 'Pretrained'
    assert backbone.init_cfg.checkpoint.startswith('work_dirs/agbp_backbones/')
    if 'Swin' in backbone.type:
        assert backbone.convert_weights is False  # the converter wrote mmdet's layout
    else:
        assert backbone.init_cfg.prefix == 'backbone.'
    assert cfg.find_unused_parameters is True  # DDP: backbones frozen after wrapping
    assert cfg.val_dataloader is None and cfg.val_cfg is None
    assert list(cfg.model.data_preprocessor['mean']) == list(cfg.agbp_data.mean)


@pytest.mark.parametrize('path', [p for p in AGDP if p.name.startswith('yolov8')],
                         ids=lambda p: p.stem)
def test_agdp_yolo_closes_mosaic_inside_the_10_epochs(path):
    cfg = _load(path)
    switch = [h for h in cfg.custom_hooks if h.type.endswith('PipelineSwitchHook')]
    assert len(switch) == 1
    assert switch[0].switch_epoch == cfg.max_epochs - cfg.close_mosaic_epochs
    assert 0 < cfg.close_mosaic_epochs < cfg.max_epochs
    assert all(t.type != 'Mosaic' for t in switch[0].switch_pipeline)
    assert cfg.default_hooks.param_scheduler.max_epochs == cfg.max_epochs
    pipelines = [cfg.train_dataloader.dataset.pipeline, switch[0].switch_pipeline]
    assert all(t.type != 'mmdet.Albu' for p in pipelines for t in p)


def test_agdp_reads_the_coco_export_when_asked():
    for name in ('yolov8_s_cspdarknet_agdp.py', 'dino-4scale_swin-b-w6_agdp.py'):
        cfg = _load(CONFIGS / 'pretrain_agdp' / name)
        pipeline = cfg.train_dataloader.dataset.pipeline
        cfg.merge_from_dict({'train_dataloader.dataset.img_dir': '/data/unlabelled'})
        dataset = adapt(cfg, pseudo_boxes='work_dirs/pseudo/boxes.json').train_dataloader.dataset
        assert dataset.pipeline == pipeline
        assert dataset.type == 'StrictCocoDataset'
        assert dataset.ann_file == 'work_dirs/pseudo/boxes.json'
        assert dataset.data_prefix.img == '/data/unlabelled'
        assert dataset.metainfo.classes == ('defect', )


@pytest.mark.parametrize('path', FINETUNE, ids=_ids(FINETUNE))
def test_finetuning_recipe_and_initialisation(path):
    cfg = _load(path)
    init = path.stem.rsplit('_', 1)[1]
    assert cfg.run_info.pretraining == {'baseline': 'baseline', 'agbp': 'AGBP',
                                        'agssp': 'AGSSP'}[init]
    assert cfg.work_dir == f'work_dirs/{path.stem}/neu_det'
    assert cfg.val_evaluator.classwise is True
    assert cfg.default_hooks.checkpoint.save_best == 'coco/bbox_mAP_50'
    init_cfg = cfg.model.backbone.get('init_cfg')
    if init == 'baseline':
        assert init_cfg is None and cfg.load_from is None
    elif init == 'agbp':
        assert init_cfg.checkpoint.startswith('work_dirs/agbp_backbones/')
        assert cfg.load_from is None
    else:
        assert init_cfg is None
        agdp_config = CONFIGS / 'pretrain_agdp' / (path.stem[:-len('agssp')] + 'agdp.py')
        assert agdp_config.is_file(), agdp_config
        assert cfg.load_from == f'work_dirs/{agdp_config.stem}/epoch_10.pth'
    if init != 'baseline':
        assert list(cfg.model.data_preprocessor['mean']) == list(cfg.agbp_data.mean)
    if 'yolov8' in path.name:
        assert cfg.model.backbone.frozen_stages == -1
        assert cfg.optim_wrapper.optimizer.batch_size_per_gpu == cfg.train_dataloader.batch_size
    else:
        assert cfg.model.backbone.frozen_stages == 2  # patch embedding + Swin stages 0-1


@pytest.mark.parametrize('dataset', sorted(DATASET_CLASSES))
@pytest.mark.parametrize('rel', FAMILY_BASELINES)
def test_each_dataset_base_sets_classes_data_and_work_dir(rel, dataset):
    cfg = adapt(_load(CONFIGS / 'finetune' / rel), dataset=dataset)
    data = cfg.finetune_data
    assert data.name == dataset and len(data.classes) == DATASET_CLASSES[dataset]
    assert _num_classes(cfg.model) == [DATASET_CLASSES[dataset]] * len(_num_classes(cfg.model))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds = cfg[key].dataset
        assert ds.metainfo.classes == data.classes and ds.data_prefix.img == data.img_root
        assert ds.ann_file == (data.train_ann_file if key == 'train_dataloader'
                               else data.val_ann_file)
    assert cfg.val_evaluator.ann_file == cfg.test_evaluator.ann_file == data.val_ann_file
    assert cfg.work_dir.endswith(f'/{dataset}')


def test_data_roots_and_split_come_from_the_options():
    cfg = adapt(_load(CONFIGS / 'finetune' / 'yolo' / 'yolov8_s_cspdarknet_agssp.py'),
                dataset='casting_billet', img_root='/data/cb/images/',
                train_ann='/data/cb/annotations/train_mini_500.json',
                val_ann='/data/cb/annotations/val.json')
    assert cfg.train_dataloader.dataset.ann_file == '/data/cb/annotations/train_mini_500.json'
    assert cfg.train_dataloader.dataset.data_prefix.img == '/data/cb/images/'
    assert cfg.val_evaluator.ann_file == '/data/cb/annotations/val.json'
    assert cfg.adapter_options.dataset == 'casting_billet'
    cfg = adapt(_load(CONFIGS / 'finetune' / 'dino' / 'dino-4scale_swin-b-w6_baseline.py'),
                img_root='/data/neu/', train_ann='/anns/neu/train_mini_500.json')
    assert cfg.train_dataloader.dataset.ann_file == '/anns/neu/train_mini_500.json'
    assert cfg.val_dataloader.dataset.data_prefix.img == '/data/neu/'
    assert cfg.val_evaluator.ann_file == 'data/neu_det/val.json'


def test_an_unknown_dataset_names_the_missing_base():
    with pytest.raises(ValueError, match='no_such_dataset.py'):
        adapt(_load(CONFIGS / 'finetune' / 'yolo' / 'yolov8_s_cspdarknet_baseline.py'),
              dataset='no_such_dataset')


def _build_train_dataset(cfg):
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    return DATASETS.build(cfg.train_dataloader.dataset)


@pytest.mark.parametrize('rel', FAMILY_BASELINES)
def test_a_wrong_data_root_names_the_missing_file(rel, tmp_path):
    cfg = adapt(tiny_config(f'finetune/{rel}'), train_ann=f'{tmp_path}/nowhere/train.json')
    with pytest.raises(FileNotFoundError, match=f'{tmp_path}/nowhere/train.json'):
        _build_train_dataset(cfg)


def test_a_wrong_agdp_folder_names_it(tmp_path):
    img_dir, map_dir = write_tiny_pseudo_box_data(tmp_path)
    for img, maps, missing in ((tmp_path / 'no_images', map_dir, 'no_images'),
                               (img_dir, tmp_path / 'no_maps', 'no_maps')):
        cfg = tiny_config('pretrain_agdp/yolov8_s_cspdarknet_agdp.py',
                          train_data=dict(img_dir=str(img), map_dir=str(maps)))
        with pytest.raises(FileNotFoundError, match=str(Path(tmp_path) / missing)):
            _build_train_dataset(cfg)


def _sizes(pipeline):
    found = []
    for t in pipeline:
        found += [(t['type'], k, t[k]) for k in ('img_scale', 'scale', 'scales', 'border',
                                                 'crop_size') if k in t]
        for nested in t.get('transforms', []):
            found += _sizes(nested if isinstance(nested, list) else [nested])
    return found


@pytest.mark.parametrize('rel', FAMILY_BASELINES)
def test_img_size_option_scales_every_pipeline(rel):
    paper = _load(CONFIGS / 'finetune' / rel)
    half = adapt(_load(CONFIGS / 'finetune' / rel), img_size=320)
    for get in (lambda c: c.train_dataloader.dataset.pipeline,
                lambda c: c.val_dataloader.dataset.pipeline,
                lambda c: c.custom_hooks[1].switch_pipeline if 'yolo' in rel else []):
        before, after = _sizes(get(paper)), _sizes(get(half))
        assert len(before) == len(after)
        for (kind, key, big), (_, _, small) in zip(before, after):
            assert np.array(small).tolist() == (np.array(big) // 2).tolist(), (kind, key)


def test_class_names_that_miss_the_coco_file_stop_the_dataset(tmp_path):
    img_dir, ann_file = write_tiny_coco(tmp_path, ('Sc', 'crazing'))
    cfg = tiny_config('finetune/yolo/yolov8_s_cspdarknet_baseline.py',
                      train_data=dict(ann_file=str(ann_file), data_prefix=dict(img=str(img_dir))))
    with pytest.raises(ClassMismatchError) as info:
        _build_train_dataset(cfg)
    message = str(info.value)
    assert str(ann_file) in message and "'Sc'" in message and "'scratches'" in message


@pytest.mark.integration
@pytest.mark.parametrize('dataset', ['neu_det', 'magnetic_tile'])
def test_real_datasets_load_every_box_through_their_base(dataset, request, tmp_path):
    """The class names of the base match what the converters write: no box is dropped."""
    if dataset == 'neu_det':
        root = request.getfixturevalue('neu_det_root')
        coco = voc_to_coco([(root / 'ANNOTATIONS', root / 'IMAGES'),
                            (root / 'Validation_Annotations', root / 'Validation_Images')])
    else:
        root = request.getfixturevalue('magnetic_tile_root')
        coco = masks_to_coco(root)
    for split in ('train', 'val'):
        coco.dump(tmp_path / f'{split}.json')
    cfg = adapt(tiny_config('finetune/faster_rcnn/faster-rcnn_swin-b-w6_fpn_baseline.py'),
                dataset=dataset, img_root=f'{root}/', train_ann=f'{tmp_path}/train.json',
                val_ann=f'{tmp_path}/val.json')
    ds = _build_train_dataset(cfg)
    n_boxes = len(json.loads((tmp_path / 'train.json').read_text())['annotations'])
    assert sum(len(ds.get_data_info(i)['instances']) for i in range(len(ds))) == n_boxes
    assert Path(ds.get_data_info(0)['img_path']).is_file()
