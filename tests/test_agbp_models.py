"""AGBP distillation: activation maps, targets, the loss, the head and the three models."""
import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import agssp.datasets  # noqa: F401  (registration)
import agssp.models  # noqa: F401  (registration)
from agssp.core.anomaly_maps import resize_map
from agssp.models import (AnomalyMapDistillHead, AnomalyMapDistillLoss, map_cosine,
                          per_sample_distill_loss, resize_target, stage_activation)

torch.set_num_threads(1)


def _samples_with_maps(maps):
    samples = []
    for m in maps:
        sample = DataSample()
        sample.set_field(m[None].float(), 'anomaly_map')
        samples.append(sample)
    return samples



@pytest.fixture(autouse=True)
def _mmpretrain_scope():
    """These modules live in mmpretrain configs; another test may have left mmyolo's scope."""
    init_default_scope('mmpretrain')

def test_stage_activation_is_the_channel_sum_of_squares():
    feat = torch.randn(2, 5, 3, 4)
    act = stage_activation(feat)
    assert act.shape == (2, 1, 3, 4)
    assert torch.allclose(act[1, 0, 2, 3], (feat[1, :, 2, 3] ** 2).sum())
    with pytest.raises(ValueError, match='B, C, h, w'):
        stage_activation(torch.randn(2, 5, 3))


@pytest.mark.parametrize('hw', [(7, 9), (40, 52)])
def test_resize_target_is_the_torch_twin_of_resize_map(hw):
    rng = np.random.default_rng(0)
    amap = rng.random((20, 26)).astype(np.float32)
    torch_out = resize_target(torch.from_numpy(amap)[None], hw)[0, 0].numpy()
    assert torch_out.shape == hw
    np.testing.assert_allclose(torch_out, resize_map(amap, hw), atol=1e-4)


def test_each_stage_target_is_resized_from_the_original_map():
    head = AnomalyMapDistillHead(in_indices=(0, 1))
    amap = torch.rand(1, 1, 64, 64)
    feats = (torch.rand(1, 4, 16, 16), torch.rand(1, 8, 5, 5))
    (_, t16), (_, t5) = head.stage_pairs(feats, amap)
    assert torch.allclose(t5, resize_target(amap, (5, 5)))
    assert not torch.allclose(t5, resize_target(t16, (5, 5)))


@pytest.mark.parametrize('mode', ['cosine', 'normalized_l2'])
def test_loss_is_zero_when_the_activation_equals_the_target(mode):
    target = torch.rand(3, 1, 6, 6)
    loss = AnomalyMapDistillLoss(mode=mode, loss_weight=2.0)
    assert loss(target.clone(), target).item() == pytest.approx(0.0, abs=1e-6)
    # only the pattern counts, not the scale
    assert loss(5.0 * target, target).item() == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize('mode', ['cosine', 'normalized_l2'])
def test_loss_grows_as_the_activation_diverges(mode):
    gen = torch.Generator().manual_seed(0)
    target = torch.rand(4, 1, 8, 8, generator=gen)
    noise = torch.rand(4, 1, 8, 8, generator=gen)
    values = [per_sample_distill_loss(target + a * noise, target, mode).mean().item()
              for a in (0.0, 0.3, 1.0, 3.0, 10.0)]
    assert values[0] == pytest.approx(0.0, abs=1e-6)
    assert all(b > a for a, b in zip(values, values[1:])), values
    opposite = per_sample_distill_loss(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]]),
                                       mode)
    assert opposite.item() == pytest.approx(2.0)


def test_the_two_loss_forms_agree_and_weights_scale():
    a, t = torch.rand(5, 1, 4, 4), torch.rand(5, 1, 4, 4)
    cos = per_sample_distill_loss(a, t, 'cosine')
    assert torch.allclose(cos, per_sample_distill_loss(a, t, 'normalized_l2'), atol=1e-6)
    assert torch.allclose(cos, 2 - 2 * map_cosine(a, t))
    assert AnomalyMapDistillLoss(loss_weight=3.0)(a, t).item() == pytest.approx(
        3.0 * cos.mean().item(), rel=1e-5)
    with pytest.raises(ValueError, match='unknown distillation loss mode'):
        AnomalyMapDistillLoss(mode='l1')
    with pytest.raises(ValueError, match='differ'):
        per_sample_distill_loss(torch.rand(2, 9), torch.rand(2, 8))


def test_head_returns_weighted_loss_and_cosines_and_passes_gradients():
    head = MODELS.build(dict(type='AnomalyMapDistillHead', in_indices=(0, 1),
                             loss=dict(type='AnomalyMapDistillLoss', loss_weight=0.5)))
    feats = (torch.rand(2, 4, 8, 8, requires_grad=True), torch.rand(2, 6, 4, 4, requires_grad=True))
    maps = torch.rand(2, 32, 32)
    losses = head.loss(feats, _samples_with_maps(maps))
    assert set(losses) == {'loss_distill', 'distill_cos_out0', 'distill_cos_out1'}
    expected = sum(0.5 * per_sample_distill_loss(stage_activation(f),
                                                 resize_target(maps, f.shape[-2:])).mean()
                   for f in feats)
    assert losses['loss_distill'].item() == pytest.approx(expected.item(), rel=1e-5)
    losses['loss_distill'].backward()
    assert all(f.grad is not None and f.grad.abs().sum() > 0 for f in feats)


def test_head_errors_name_the_problem():
    head = AnomalyMapDistillHead(in_indices=(2, ))
    with pytest.raises(IndexError, match='out_indices'):
        head.loss((torch.rand(1, 2, 4, 4), ), _samples_with_maps(torch.rand(1, 8, 8)))
    with pytest.raises(KeyError, match='LoadAnomalyMap'):
        AnomalyMapDistillHead().loss((torch.rand(1, 2, 4, 4), ), [DataSample()])


def test_classifier_refuses_mixup_and_cutmix():
    cfg = dict(type='AnomalyDistillClassifier',
               backbone=dict(type='ResNet', depth=18, out_indices=(3, )),
               neck=dict(type='GlobalAveragePooling'),
               head=dict(type='LinearClsHead', num_classes=2, in_channels=512),
               distill_head=dict(type='AnomalyMapDistillHead'),
               train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8)]))
    with pytest.raises(ValueError, match='Mixup'):
        MODELS.build(cfg)


def _batch(n=2, size=64):
    inputs = torch.rand(n, 3, size, size)
    return inputs, _samples_with_maps(torch.rand(n, size, size))


def test_mocov3_distils_the_first_view_backbone_output():
    model = MODELS.build(dict(
        type='AnomalyDistillMoCoV3', base_momentum=0.01,
        backbone=dict(type='ResNet', depth=18, out_indices=(3, )),
        neck=dict(type='NonLinearNeck', in_channels=512, hid_channels=32, out_channels=16,
                  num_layers=2, with_avg_pool=True),
        head=dict(type='MoCoV3Head', loss=dict(type='CrossEntropyLoss'), temperature=1.0,
                  predictor=dict(type='NonLinearNeck', in_channels=16, hid_channels=32,
                                 out_channels=16, num_layers=2, with_avg_pool=False)),
        distill_head=dict(type='AnomalyMapDistillHead')))
    model.eval()  # BN on running statistics: the same input gives the same features
    view1, samples = _batch()
    view2 = torch.rand_like(view1)
    with torch.no_grad():
        losses = model.loss([view1, view2], samples)
        first = model.distill_head.loss(model.backbone(view1), samples)['loss_distill']
        second = model.distill_head.loss(model.backbone(view2), samples)['loss_distill']
    assert {'loss_moco', 'loss_distill'} <= set(losses)
    assert losses['loss_distill'].item() == pytest.approx(first.item(), rel=1e-5)
    assert abs(losses['loss_distill'].item() - second.item()) > 1e-6


def test_simmim_distils_an_unmasked_forward_of_the_same_batch():
    model = MODELS.build(dict(
        type='AnomalyDistillSimMIM',
        backbone=dict(type='SimMIMSwinTransformer',
                      arch=dict(embed_dims=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 2, 2]),
                      img_size=64, stage_cfgs=dict(block_cfgs=dict(window_size=2))),
        neck=dict(type='SimMIMLinearDecoder', in_channels=128, encoder_stride=32),
        head=dict(type='SimMIMHead', patch_size=4,
                  loss=dict(type='PixelReconstructionLoss', criterion='L1', channel=3)),
        distill_head=dict(type='AnomalyMapDistillHead')))
    model.eval()
    inputs, samples = _batch()
    for sample in samples:
        mask = torch.zeros(16, 16)
        mask[:8] = 1
        sample.set_mask(mask)
    with torch.no_grad():
        losses = model.loss(inputs, samples)
        unmasked = model.distill_head.loss(model.backbone(inputs, None), samples)
    assert {'loss_mim', 'loss_distill'} <= set(losses)
    assert losses['loss_distill'].item() == pytest.approx(unmasked['loss_distill'].item(),
                                                          rel=1e-5)


def test_activation_of_float16_features_does_not_overflow():
    """Under AMP, features arrive in float16; their sum of squares exceeds float16's range."""
    feat = torch.full((1, 512, 2, 2), 20.0, dtype=torch.float16)
    activation = stage_activation(feat)
    assert activation.dtype == torch.float32
    assert torch.isfinite(activation).all() and activation[0, 0, 0, 0] == 512 * 400
