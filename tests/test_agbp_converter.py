"""AGBP checkpoint -> backbone checkpoint -> detector backbone: zero missing, zero unexpected."""

import pytest
import torch
from agbp_helpers import CONFIG_DIR
from mmengine.config import Config, ConfigDict
from mmengine.hub import get_config
from mmengine.registry import MODELS, init_default_scope
from script_modules import load_script

import agssp.datasets  # noqa: F401  (registration)
import agssp.models  # noqa: F401  (registration)
from agssp.engine.backbone_export import (BackboneExportError, compare_with_backbone,
                                          export_backbone, load_agbp_state_dict)

pytestmark = pytest.mark.integration

torch.set_num_threads(1)
REPO_CONFIGS = CONFIG_DIR.parent
CLEAN = dict(missing=[], unexpected=[], shape_mismatch=[])
TINY_SWIN = dict(embed_dims=32, depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 8])


def _agbp_checkpoint(path, config_name):
    cfg = Config.fromfile(str(CONFIG_DIR / config_name))
    init_default_scope('mmpretrain')
    model = MODELS.build(cfg.model)
    torch.save(dict(state_dict=model.state_dict(), meta=dict(note='test')), path)
    return model


def _build(scope, cfg):
    init_default_scope(scope)
    return MODELS.build(cfg)


def test_cspdarknet_round_trip_through_the_cli_and_the_mmyolo_detector(tmp_path):
    agbp_to_backbone = load_script('tools/model_converters/agbp_to_backbone.py')
    src, dst = tmp_path / 'agbp.pth', tmp_path / 'backbone.pth'
    agbp = _agbp_checkpoint(src, 'agbp_cspdarknet-yolov8s_8xb128-200e_metal.py')
    detector_cfg = REPO_CONFIGS / 'finetune' / 'yolo' / 'yolov8_s_cspdarknet_demo.py'
    rc = agbp_to_backbone.main([str(src), str(dst), '--target', 'mmyolo-cspdarknet',
                                '--check-config', str(detector_cfg)])
    assert rc == 0
    # the detector's own loading path: backbone init_cfg Pretrained with prefix 'backbone.'
    cfg = Config.fromfile(str(detector_cfg))
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=str(dst), prefix='backbone.')
    backbone = _build('mmyolo', cfg.model.backbone)
    backbone.init_weights()
    for key, value in agbp.backbone.state_dict().items():
        assert torch.equal(backbone.state_dict()[key], value), key


def test_resnet50_from_classifier_and_mocov3_into_mmdet(tmp_path):
    mmdet_backbone = _build('mmdet', get_config('mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py')
                            .model.backbone)
    for name in ('agbp_resnet50_8xb128-200e_metal.py', 'agbp_mocov3_resnet50_8xb128-200e_metal.py'):
        agbp = _agbp_checkpoint(tmp_path / 'agbp.pth', name)
        state, report = export_backbone(load_agbp_state_dict(tmp_path / 'agbp.pth'),
                                        'mmdet-resnet')
        assert compare_with_backbone(mmdet_backbone, state) == CLEAN, name
        assert not any(k.startswith('backbone.momentum') for k in state)
        assert torch.equal(state['backbone.layer4.2.conv3.weight'],
                           agbp.backbone.layer4[2].conv3.weight)


def test_swin_b_agbp_into_an_mmdet_swin_b_detector_backbone(tmp_path):
    _agbp_checkpoint(tmp_path / 'agbp.pth', 'agbp_swin-base-w7_8xb80-200e_metal-224px.py')
    cfg = get_config('mmdet::swin/retinanet_swin-t-p4-w7_fpn_1x_coco.py').model.backbone
    cfg.update(embed_dims=128, depths=[2, 2, 18, 2], num_heads=[4, 8, 16, 32], init_cfg=None)
    state, report = export_backbone(load_agbp_state_dict(tmp_path / 'agbp.pth'), 'mmdet-swin',
                                    swin_out_indices=cfg.out_indices)
    assert compare_with_backbone(_build('mmdet', cfg), state) == CLEAN
    assert report['added'] == ['norm1.weight', 'norm1.bias', 'norm2.weight', 'norm2.bias']


def test_swin_conversion_computes_what_mmpretrain_computed(tmp_path):
    """Same input, same stage-3 features (at a size where every stage exceeds the window:
    mmpretrain drops the window shift on maps no larger than the window, mmdet does not)."""
    src = _build('mmpretrain', dict(type='SwinTransformer', arch=TINY_SWIN, img_size=224,
                                    window_size=7, out_indices=(3, )))
    torch.save(dict(state_dict={f'backbone.{k}': v for k, v in src.state_dict().items()}),
               tmp_path / 'agbp.pth')
    state, _ = export_backbone(load_agbp_state_dict(tmp_path / 'agbp.pth'), 'mmdet-swin',
                               swin_out_indices=(1, 2, 3))
    torch.save(dict(state_dict=state), tmp_path / 'swin.pth')
    dst = _build('mmdet', dict(type='SwinTransformer', **TINY_SWIN, window_size=7,
                               out_indices=(1, 2, 3), convert_weights=False,
                               init_cfg=ConfigDict(type='Pretrained',
                                                   checkpoint=str(tmp_path / 'swin.pth'))))
    dst.init_weights()  # mmdet Swin's own Pretrained loading (keeps 'backbone.' keys)
    assert compare_with_backbone(dst, state) == CLEAN
    src.eval()
    dst.eval()
    x = torch.rand(1, 3, 480, 480)
    with torch.no_grad():
        assert torch.allclose(src(x)[-1], dst(x)[-1], atol=1e-5)


def test_simmim_window_6_into_mmdet_window_7(tmp_path):
    src = _build('mmpretrain', dict(type='SimMIMSwinTransformer', arch=TINY_SWIN, img_size=192,
                                    stage_cfgs=dict(block_cfgs=dict(window_size=6))))
    torch.save(dict(state_dict={f'backbone.{k}': v for k, v in src.state_dict().items()}),
               tmp_path / 'simmim.pth')
    agbp_state = load_agbp_state_dict(tmp_path / 'simmim.pth')
    dst = _build('mmdet', dict(type='SwinTransformer', **TINY_SWIN, window_size=7,
                               out_indices=(0, 1, 2, 3)))
    unresized, _ = export_backbone(agbp_state, 'mmdet-swin')
    assert compare_with_backbone(dst, unresized)['shape_mismatch']
    state, report = export_backbone(agbp_state, 'mmdet-swin', window_size=7)
    assert compare_with_backbone(dst, state) == CLEAN
    assert 'mask_token' in report['dropped'] and report['resized']
    dst.load_state_dict({k[len('backbone.'):]: v for k, v in state.items()}, strict=True)


def test_export_refuses_the_wrong_architecture(tmp_path):
    _agbp_checkpoint(tmp_path / 'agbp.pth', 'agbp_cspdarknet-yolov8s_8xb128-200e_metal.py')
    state = load_agbp_state_dict(tmp_path / 'agbp.pth')
    with pytest.raises(BackboneExportError, match='does not look like mmdet-resnet'):
        export_backbone(state, 'mmdet-resnet')
    with pytest.raises(BackboneExportError, match="no keys start with 'encoder.'"):
        export_backbone(state, 'mmyolo-cspdarknet', source_prefix='encoder.')
