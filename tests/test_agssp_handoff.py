"""The chain AGBP -> converter -> AGDP -> fine-tuning, per backbone family, on tiny inputs.

At every hand-off the backbone arrives whole (zero missing keys), AGDP leaves it untouched,
and fine-tuning starts from exactly the weights AGBP produced, never silently re-initialised.
The AGDP stage runs through mmengine's Runner (EMA, parameter scheduler and checkpoint hooks
of the config included); the AGSSP fine-tuning's weights are read when its training starts.
"""

import pytest
import torch
from agbp_helpers import one_training_step as agbp_training_step
from agbp_helpers import tiny_config as tiny_agbp_config
from agbp_helpers import write_tiny_agbp_data
from detector_helpers import (CONFIGS, build_detector, state_under, tiny_config, write_tiny_coco,
                              write_tiny_pseudo_box_data)
from mmengine.hooks import Hook
from mmengine.runner import Runner
from script_modules import load_script

from agssp.engine.backbone_export import compare_with_backbone, load_agbp_state_dict

pytestmark = pytest.mark.integration

torch.set_num_threads(1)
SIZE = 64
CLEAN = dict(missing=[], unexpected=[], shape_mismatch=[])

# family: AGBP config, converter arguments, AGDP config, fine-tuning configs (AGBP, AGSSP init)
CHAINS = {
    'cspdarknet': ('agbp_cspdarknet-yolov8s_8xb128-200e_metal.py',
                   ['--target', 'mmyolo-cspdarknet'],
                   'pretrain_agdp/yolov8_s_cspdarknet_agdp.py',
                   'finetune/yolo/yolov8_s_cspdarknet_agbp.py',
                   'finetune/yolo/yolov8_s_cspdarknet_agssp.py'),
    'resnet50': ('agbp_resnet50_8xb128-200e_metal.py',
                 ['--target', 'mmdet-resnet'],
                 'pretrain_agdp/yolov8_s_resnet50_agdp.py',
                 'finetune/yolo/yolov8_s_resnet50_agbp.py',
                 'finetune/yolo/yolov8_s_resnet50_agssp.py'),
    'swin-b-simmim': ('agbp_simmim_swin-base-w6_8xb56-500e_metal-192px.py',
                      ['--target', 'mmdet-swin', '--swin-out-indices', '1', '2', '3'],
                      'pretrain_agdp/yolov8_s_swin-b-w6_agdp.py',
                      'finetune/yolo/yolov8_s_swin-b-w6_agbp.py',
                      'finetune/yolo/yolov8_s_swin-b-w6_agssp.py'),
}


def _assert_same(state, reference, what):
    assert set(state) == set(reference), what
    changed = [k for k in reference if not torch.equal(state[k], reference[k])]
    assert not changed, f'{what}: {len(changed)} tensors differ, e.g. {changed[:3]}'


def _runner(cfg, work_dir, max_epochs):
    cfg.work_dir = str(work_dir)
    cfg.train_cfg.max_epochs = max_epochs
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.update(interval=1, max_keep_ckpts=1, save_optimizer=False)
    cfg.default_hooks.pop('visualization', None)
    cfg.log_level = 'WARNING'
    return Runner.from_cfg(cfg)


class _WeightsAtTrainStart(Hook):
    """Records the model's state dict when training starts (after all loading)."""

    def before_train(self, runner):
        self.state = {k: v.detach().clone() for k, v in runner.model.state_dict().items()}


@pytest.mark.parametrize('family', sorted(CHAINS))
def test_agbp_to_agdp_to_finetuning(family, tmp_path, capsys):
    agbp_name, target_args, agdp_rel, ft_agbp_rel, ft_agssp_rel = CHAINS[family]

    # 1. AGBP: one training step of the AGBP config on tiny images with maps.
    img_root, map_root = write_tiny_agbp_data(tmp_path / 'agbp_data')
    agbp, _ = agbp_training_step(tiny_agbp_config(agbp_name, img_root, map_root))
    torch.save(dict(state_dict=agbp.state_dict()), tmp_path / 'agbp.pth')
    agbp_backbone = state_under(agbp, 'backbone.')
    del agbp

    # 2. Converter, checked against the AGDP config's backbone: no missing / unexpected keys.
    converted_path = tmp_path / 'backbone.pth'
    converter = load_script('tools/model_converters/agbp_to_backbone.py')
    rc = converter.main([str(tmp_path / 'agbp.pth'), str(converted_path), *target_args,
                         '--check-config', str(CONFIGS / agdp_rel)])
    assert rc == 0
    converted = state_under(load_agbp_state_dict(converted_path), 'backbone.')
    shared = set(converted) & set(agbp_backbone)
    assert shared and all(torch.equal(converted[k], agbp_backbone[k]) for k in shared)

    # 3. AGDP: one epoch (one iteration) on pseudo boxes; the backbone must not move.
    img_dir, map_dir = write_tiny_pseudo_box_data(tmp_path / 'agdp_data', n=1, size=SIZE)
    cfg = tiny_config(agdp_rel, size=SIZE, batch_size=1,
                      train_data=dict(img_dir=str(img_dir), map_dir=str(map_dir)))
    cfg.model.backbone.init_cfg.checkpoint = str(converted_path)
    runner = _runner(cfg, tmp_path / 'agdp', max_epochs=1)
    start = _WeightsAtTrainStart()
    runner.register_hook(start)
    runner.train()
    assert not [n for n, p in runner.model.backbone.named_parameters() if p.requires_grad]
    assert compare_with_backbone(runner.model.backbone, converted) == CLEAN
    _assert_same(state_under(start.state, 'backbone.'), converted, 'AGDP backbone at start')
    agdp_state = torch.load(tmp_path / 'agdp' / 'epoch_1.pth', map_location='cpu',
                            weights_only=True)['state_dict']
    _assert_same(state_under(agdp_state, 'backbone.'), converted, 'AGDP backbone after training')
    neck_start, neck_end = state_under(start.state, 'neck.'), state_under(agdp_state, 'neck.')
    assert any(not torch.equal(neck_start[k], neck_end[k]) for k in neck_start), \
        'the AGDP neck did not train'
    del runner

    # 4. Fine-tuning from the AGBP backbone alone (backbone init_cfg).
    cfg = tiny_config(ft_agbp_rel, size=SIZE)
    cfg.model.backbone.init_cfg.checkpoint = str(converted_path)
    model = build_detector(cfg)
    assert compare_with_backbone(model.backbone, converted) == CLEAN
    _assert_same(state_under(model, 'backbone.'), converted, 'AGBP-initialised fine-tuning')
    del model

    # 5. Fine-tuning from the whole AGDP detector (load_from): weights when training starts.
    classes = tiny_config(ft_agssp_rel).class_names
    coco_img, coco_ann = write_tiny_coco(tmp_path / 'labelled', classes, n=2, size=SIZE)
    data = dict(ann_file=str(coco_ann), data_prefix=dict(img=str(coco_img)))
    cfg = tiny_config(ft_agssp_rel, size=SIZE, train_data=data, val_data=data)
    cfg.load_from = str(tmp_path / 'agdp' / 'epoch_1.pth')
    runner = _runner(cfg, tmp_path / 'ft', max_epochs=0)
    start = _WeightsAtTrainStart()
    runner.register_hook(start)
    capsys.readouterr()
    runner.train()
    printed = capsys.readouterr().out  # mmengine prints load mismatches when given no logger
    _assert_same(state_under(start.state, 'backbone.'), converted, 'AGSSP fine-tuning backbone')
    mismatched = sorted(k for k, v in agdp_state.items()
                        if k in start.state and v.shape != start.state[k].shape)
    assert mismatched and all(k.startswith('bbox_head.head_module.cls_preds') for k in mismatched)
    assert f'size mismatch for {mismatched[0]}' in printed
    loaded = [k for k in agdp_state if k in start.state and k not in mismatched]
    _assert_same({k: start.state[k] for k in loaded}, {k: agdp_state[k] for k in loaded},
                 'AGSSP fine-tuning: every other AGDP weight')
