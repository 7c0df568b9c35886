"""KeAD mechanics on a tiny randomly initialised open_clip model (real weights are unavailable)."""
import json
import logging
from pathlib import Path

import cv2
import numpy as np
import open_clip
import pytest
import torch
from mmengine.config import Config

from agssp.anomaly.build import build_anomaly_model
from agssp.anomaly.image_input import load_model_input
from agssp.anomaly.kead import (AGSSP_TEMPLATES, REFERENCE_TEMPLATES, TEMPLATES, FewShotPatchMemory,
                                KeAD, SurgeryVisionTransformer, available_knowledge,
                                class_knowledge, load_knowledge, resolve_templates,
                                value_value_attention)
from agssp.anomaly.registry import ANOMALY_MODELS
from agssp.anomaly.writer import generate_anomaly_maps, image_class
from agssp.core.anomaly_maps import load_anomaly_map

REPO = Path(__file__).resolve().parents[1]
TINY = dict(embed_dim=32,
            vision_cfg=dict(image_size=64, layers=12, width=64, patch_size=16, head_width=16),
            text_cfg=dict(context_length=77, vocab_size=49408, width=32, heads=2, layers=1))
SIZE = (64, 64)


def tiny_clip(seed=0):
    torch.manual_seed(seed)
    return open_clip.create_model('ViT-B-16-plus-240', **TINY).eval()


def tiny_kead(k_shot=2, seed=0, input_size=SIZE, knowledge='neu_det', **kwargs):
    torch.manual_seed(seed)
    return KeAD(knowledge, random_init=True, model_overrides=TINY, input_size=input_size,
                k_shot=k_shot, **kwargs)


def images(count, seed):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(count, 3, *SIZE, generator=generator) * 255


@pytest.fixture(scope='module')
def kead():
    torch.set_num_threads(1)
    model = tiny_kead(k_shot=2)
    model.fit(images(2, seed=1))
    return model


def test_output_shapes_and_ranges(kead):
    out = kead(images(3, seed=2))
    assert set(out) == {'anomaly_map', 'image_score'}
    assert out['anomaly_map'].shape == (3, 4, 4)
    assert out['image_score'].shape == (3,)
    assert torch.isfinite(out['anomaly_map']).all()
    terms = kead.score_terms(images(3, seed=2))
    assert ((terms['zero_shot_map'] >= 0) & (terms['zero_shot_map'] <= 1)).all()
    assert ((terms['few_shot_map'] >= 0) & (terms['few_shot_map'] <= 1)).all()
    assert torch.allclose(out['anomaly_map'], terms['zero_shot_map'] + terms['few_shot_map'])
    expected = (terms['cls_probability'] + out['anomaly_map'].flatten(1).amax(1)) / 2
    assert torch.allclose(out['image_score'], expected)


def test_cls_path_equals_plain_open_clip():
    clip = tiny_clip()
    x = torch.randn(2, 3, *SIZE)
    cls_embedding, patches = SurgeryVisionTransformer(clip.visual, (3, 6, 9, 12), 9)(x)
    with torch.no_grad():
        assert torch.allclose(cls_embedding, clip.encode_image(x), atol=1e-5)
    assert [p.shape for p in patches] == [(2, 16, 32)] * 4


def test_without_surgery_tokens_equal_open_clip_intermediates():
    clip = tiny_clip()
    x = torch.randn(2, 3, *SIZE)
    _, patches = SurgeryVisionTransformer(clip.visual, (3, 12), 0)(x)
    with torch.no_grad():
        ref = clip.visual.forward_intermediates(x, indices=[2, 11], normalize_intermediates=True,
                                                output_fmt='NLC')['image_intermediates']
    for ours, theirs in zip(patches, ref):
        assert torch.allclose(ours, theirs @ clip.visual.proj, atol=1e-5)


def test_value_value_attention_matches_formula():
    attn = tiny_clip().visual.transformer.resblocks[0].attn
    x = torch.randn(2, 5, 64)
    width, heads = attn.embed_dim, attn.num_heads
    v = x @ attn.in_proj_weight[2 * width:].T + attn.in_proj_bias[2 * width:]
    v = v.view(2, 5, heads, width // heads).transpose(1, 2)
    weights = torch.softmax(v @ v.transpose(-1, -2) * (width // heads) ** -0.5, dim=-1)
    expected = attn.out_proj((weights @ v).transpose(1, 2).reshape(2, 5, width))
    assert torch.allclose(value_value_attention(attn, x), expected, atol=1e-5)


def test_surgery_path_sums_vv_steps_on_ordinary_tokens():
    clip = tiny_clip()
    x = torch.randn(2, 3, *SIZE)
    _, (last,) = SurgeryVisionTransformer(clip.visual, (12,), 2)(x)
    with torch.no_grad():
        ordinary = clip.visual.forward_intermediates(x, indices=[9, 10], output_fmt='NLC',
                                                     output_extra_tokens=True)
        inputs = [torch.cat([cls, patches], dim=1) for cls, patches in
                  zip(ordinary['image_intermediates_prefix'], ordinary['image_intermediates'])]
        blocks = clip.visual.transformer.resblocks[10:]
        surgery = inputs[0] + sum(value_value_attention(block.attn, block.ln_1(tokens))
                                  for block, tokens in zip(blocks, inputs))
        expected = clip.visual.ln_post(surgery[:, 1:]) @ clip.visual.proj
    assert torch.allclose(last, expected, atol=1e-5)


def test_sequence_first_layout_gives_same_tokens():
    clip = tiny_clip()
    x = torch.randn(2, 3, *SIZE)
    wrapper = SurgeryVisionTransformer(clip.visual, (3, 6, 9, 12), 9)
    cls_a, patches_a = wrapper(x)
    clip.visual.transformer.batch_first = False
    for block in clip.visual.transformer.resblocks:
        block.attn.batch_first = False
    cls_b, patches_b = wrapper(x)
    assert torch.allclose(cls_a, cls_b, atol=1e-5)
    for a, b in zip(patches_a, patches_b):
        assert torch.allclose(a, b, atol=1e-5)


def test_reference_image_scores_zero_on_few_shot_term(kead):
    few_shot = kead.score_terms(images(2, seed=1))['few_shot_map']
    assert few_shot.abs().max() < 1e-5
    other = kead.score_terms(images(1, seed=3))['few_shot_map']
    assert other.max() > 1e-3


def test_k_shot_limits_memory(caplog):
    model = tiny_kead(k_shot=2)
    with caplog.at_level(logging.WARNING, logger='agssp'):
        model.fit(images(5, seed=4))
    assert model.memory.num_images == 2
    assert model.memory.banks.shape == (4, 2 * 16, 32)
    assert 'first 2 of 5' in caplog.text
    with pytest.raises(ValueError, match='1..2 images'):
        model.memory.build([torch.randn(3, 16, 32)] * 4)


def test_forward_before_fit_is_an_error_and_zero_shot_needs_none():
    with pytest.raises(RuntimeError, match='call fit'):
        tiny_kead(k_shot=1)(images(1, seed=5))
    out = tiny_kead(k_shot=0).score_terms(images(1, seed=5))
    assert torch.count_nonzero(out['few_shot_map']) == 0


def test_deterministic(kead):
    x = images(2, seed=6)
    first = kead(x)
    assert all(torch.equal(first[k], v) for k, v in kead(x).items())
    twin = tiny_kead(k_shot=2)
    twin.fit(images(2, seed=1))
    assert all(torch.allclose(first[k], v, atol=1e-6) for k, v in twin(x).items())


def test_text_embeddings_are_unit_pairs(kead):
    assert kead.text_embeddings.shape == (2, 32)
    assert torch.allclose(kead.text_embeddings.norm(dim=-1), torch.ones(2), atol=1e-5)
    assert not torch.allclose(kead.text_embeddings[0], kead.text_embeddings[1])


def test_input_shape_is_checked(kead):
    with pytest.raises(ValueError, match='expected images'):
        kead(torch.zeros(1, 3, 32, 32))
    with pytest.raises(ValueError, match='input_size'):
        tiny_kead(input_size=(240, 240))


def test_missing_weights_file_names_file_and_source(tmp_path):
    missing = tmp_path / 'vit_b_16_plus_240-laion400m_e32.pt'
    with pytest.raises(FileNotFoundError) as info:
        KeAD('neu_det', weights=str(missing))
    message = str(info.value)
    assert str(missing) in message and 'laion400m_e32' in message and 'download' in message
    with pytest.raises(ValueError, match='random_init=True'):
        KeAD('neu_det')


def test_shipped_knowledge_files():
    assert available_knowledge() == ['casting_billet', 'magnetic_tile', 'neu_det', 'steel_pipe']
    expected = {
        'neu_det': {'crazing', 'inclusion', 'patches', 'pitted_surface', 'rolled-in_scale',
                    'scratches'},
        'magnetic-tile': {'blowhole', 'break', 'crack', 'fray', 'uneven'},
        'casting_billet': {'scratch', 'weld slag', 'cutting opening', 'water slag mark',
                           'slag skin', 'longitudinal crack'},
        'steel_pipe': {'warp', 'external fold', 'wrinkle', 'scratch'},
    }
    for name, defects in expected.items():
        knowledge = load_knowledge(name)
        assert set(knowledge.defects) == defects
        normal, abnormal = knowledge.phrases()
        assert normal[1] == f'flawless {knowledge.object_name}'
        assert len(abnormal) == 4 + len(defects)


def test_bad_knowledge_file_is_named(tmp_path):
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps(dict(dataset='x', object='plate', good=[], defects={})))
    with pytest.raises(ValueError, match='bad.json.*defects'):
        load_knowledge(bad)
    with pytest.raises(FileNotFoundError, match='neu_det'):
        load_knowledge('no_such_dataset')


def test_registry_and_configs(tmp_path):
    model = ANOMALY_MODELS.build(dict(type='KeAD', knowledge='steel_pipe', random_init=True,
                                      model_overrides=TINY, input_size=SIZE, k_shot=0))
    assert isinstance(model, KeAD) and model.knowledge.dataset == 'Steel Pipe'
    for name in ('kead_vitb16plus240_neu.py', 'kead_vitb16plus240_magnetic_tile.py'):
        cfg = Config.fromfile(REPO / 'configs' / 'anomaly' / name)
        assert cfg.model.type == 'KeAD' and tuple(cfg.model.input_size) == (240, 240)
        cfg.model.weights = str(tmp_path / 'absent.pt')
        with pytest.raises(FileNotFoundError, match='absent.pt'):
            ANOMALY_MODELS.build(cfg.model)


def test_memory_rejects_negative_k():
    with pytest.raises(ValueError, match='k_shot'):
        FewShotPatchMemory(-1)


def test_reference_layer_fusion_shares_the_last_surgery_tokens():
    clip = tiny_clip()
    x = torch.randn(2, 3, *SIZE)
    own = SurgeryVisionTransformer(clip.visual, (3, 6, 9, 12), 9)(x)[1]
    shared = SurgeryVisionTransformer(clip.visual, (3, 6, 9, 12), 9,
                                      share_last_surgery_tokens=True)(x)[1]
    assert torch.equal(shared[0], own[0])
    assert all(torch.equal(tokens, own[3]) for tokens in shared[1:])
    assert not torch.allclose(own[1], own[3])


def single_layer_terms(layer, x, references):
    model = tiny_kead(k_shot=2, layers=(layer,))
    model.fit(references)
    return model.score_terms(x)


def test_layer_fusion_mean_and_reference_maps():
    x, references = images(2, seed=7), images(2, seed=8)
    per_layer = {layer: single_layer_terms(layer, x, references) for layer in (3, 6, 9, 12)}
    results = {}
    for fusion in ('mean', 'reference'):
        model = tiny_kead(k_shot=2, layer_fusion=fusion)
        model.fit(references)
        results[fusion] = model.score_terms(x)
    for key in ('zero_shot_map', 'few_shot_map'):
        mean = torch.stack([per_layer[layer][key] for layer in (3, 6, 9, 12)]).mean(dim=0)
        reference = 0.25 * per_layer[3][key] + 0.75 * per_layer[12][key]
        assert torch.allclose(results['mean'][key], mean, atol=1e-6)
        assert torch.allclose(results['reference'][key], reference, atol=1e-6)
        assert not torch.allclose(results['mean'][key], results['reference'][key], atol=1e-4)
    assert torch.allclose(results['mean']['cls_probability'],
                          results['reference']['cls_probability'])
    with pytest.raises(ValueError, match='layer_fusion'):
        tiny_kead(layer_fusion='max')


def test_template_sets():
    assert len(REFERENCE_TEMPLATES) == 21 and len(AGSSP_TEMPLATES) == 20
    assert TEMPLATES is REFERENCE_TEMPLATES
    assert REFERENCE_TEMPLATES.count('a jpeg corrupted photo of the {}.') == 2
    assert resolve_templates('agssp') is AGSSP_TEMPLATES
    assert resolve_templates(['x {} y']) == ('x {} y',)
    with pytest.raises(ValueError, match='unknown template set'):
        resolve_templates('winclip')
    with pytest.raises(ValueError, match='one {}'):
        resolve_templates(['no placeholder'])
    default, ours = tiny_kead(k_shot=0), tiny_kead(k_shot=0, templates='agssp')
    assert default.templates == REFERENCE_TEMPLATES
    assert not torch.allclose(default.text_embeddings, ours.text_embeddings, atol=1e-4)
    explicit = tiny_kead(k_shot=0, templates=list(REFERENCE_TEMPLATES))
    assert torch.equal(explicit.text_embeddings, default.text_embeddings)


def test_class_knowledge_rule(tmp_path):
    default = load_knowledge('neu_det')
    assert class_knowledge('', default, {}) is default
    assert class_knowledge('magnetic-tile', default, {}).dataset == load_knowledge(
        'magnetic_tile').dataset
    assert class_knowledge('tiles', default, {'tiles': 'steel_pipe'}).dataset == 'Steel Pipe'
    renamed = class_knowledge('hot_rolled-plate', default, {})
    assert renamed.object_name == 'hot rolled plate' and renamed.defects == default.defects
    assert image_class('a/b/c.png') == 'a' and image_class('c.png') == ''


def write_image(path, seed):
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = np.random.default_rng(seed).integers(0, 256, (*SIZE, 3), dtype=np.uint8)
    cv2.imwrite(str(path), rgb[..., ::-1])


@pytest.fixture(scope='module')
def two_class_data(tmp_path_factory):
    """References and a pool with two first-level folders named like shipped knowledge."""
    root = tmp_path_factory.mktemp('two_classes')
    for offset, name in enumerate(('magnetic_tile', 'neu_det')):
        write_image(root / 'refs' / name / 'good.png', seed=10 + offset)
        for index in range(2):
            write_image(root / 'pool' / name / f'{index}.png', seed=20 + 2 * offset + index)
    return root


def kead_config(per_class=None):
    return dict(model=dict(type='KeAD', knowledge='neu_det', random_init=True,
                           model_overrides=TINY, input_size=SIZE, k_shot=1, per_class=per_class),
                reference_dir=None, reference_images=1)


def written_maps(root, out_dir, per_class=None):
    torch.manual_seed(0)
    cfg = kead_config(per_class)
    cfg['reference_dir'] = str(root / 'refs')
    model = build_anomaly_model(cfg)
    generate_anomaly_maps(model, root / 'pool', out_dir, num_workers=0, progress=False,
                          dtype='float32')
    return model, {rel: load_anomaly_map(out_dir / rel.replace('.png', '.npy'))
                   for rel in ('magnetic_tile/0.png', 'magnetic_tile/1.png', 'neu_det/0.png',
                               'neu_det/1.png')}


def test_per_class_prompts_and_memories(two_class_data, tmp_path):
    root = two_class_data
    model, maps = written_maps(root, tmp_path / 'auto')
    assert model.class_names == ['magnetic_tile', 'neu_det']
    assert model.memory_classes == ['magnetic_tile', 'neu_det']
    for name in ('magnetic_tile', 'neu_det'):
        alone = tiny_kead(k_shot=1, knowledge=name)
        alone.fit(load_model_input(root / 'refs' / name / 'good.png', SIZE)[None])
        for index in range(2):
            rel = f'{name}/{index}.png'
            expected = alone(load_model_input(root / 'pool' / rel, SIZE)[None])['anomaly_map']
            assert np.allclose(maps[rel], expected[0].numpy(), atol=1e-5), rel
    _, pooled = written_maps(root, tmp_path / 'off', per_class=False)
    assert not np.allclose(pooled['neu_det/0.png'], maps['neu_det/0.png'], atol=1e-3)


def test_per_class_needs_memories_and_classes(two_class_data):
    model = tiny_kead(k_shot=1)
    model.fit(images(1, seed=3))
    with pytest.raises(ValueError, match=r"no few-shot memory for classes \['a', 'b'\]"):
        model.set_classes(['a', 'b'])
    model.set_classes(['a'])
    assert model.class_names == []
    zero_shot = tiny_kead(k_shot=0, per_class=True)
    zero_shot.set_classes(['neu_det'])
    with pytest.raises(ValueError, match='one class per image'):
        zero_shot(images(1, seed=4))
    with pytest.raises(ValueError, match='not declared'):
        zero_shot(images(1, seed=4), classes=['other'])
    out = zero_shot(images(1, seed=4), classes=['neu_det'])
    assert torch.allclose(out['anomaly_map'], tiny_kead(k_shot=0)(images(1, seed=4))[
        'anomaly_map'], atol=1e-6)
