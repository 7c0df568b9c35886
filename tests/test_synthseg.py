"""SynthSeg: synthetic defects, texture statistics, Gaussian memory, model, trainer, tool, and
the Magnetic Tile protocol. Everything runs on tiny images in a few seconds."""
import json
import logging
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

import agssp.anomaly  # noqa: F401  (registration)
from agssp.anomaly.build import build_anomaly_model
from agssp.anomaly.registry import ANOMALY_MODELS
from agssp.anomaly.synthseg import (GENERATORS, GaussianMemory, SelfSimilarity, SyntheticDefects,
                                    texture_channels, texture_features)
from agssp.anomaly.synthseg.model import aspect_input_size, pool_alignment
from agssp.anomaly.synthseg.normalisation import tail_surprise, tail_table
from agssp.anomaly.synthseg.reference import THUMB_CELLS, thumbnail_grid
from agssp.anomaly.synthseg.synthetic import visible_change_mask
from agssp.anomaly.synthseg.synthetic_dataset import SyntheticDefectDataset, synthetic_batch
from agssp.anomaly.synthseg.trainer import (LAST_CHECKPOINT, MODEL_FILE, TrainSettings,
                                            param_schedulers, train_synthseg)
from agssp.core.training_logs import read_scalars
from agssp.evaluation.magnetic_tile_protocol import (DEFECT_CLASSES, NORMAL_CLASS,
                                                     magnetic_tile_protocol, write_split_folders)

REPO = Path(__file__).resolve().parents[1]
TINY = dict(type='SynthSeg', input_size=(64, 64), widths=(4, 8, 8, 8, 8), decoder_channels=8)


def surface(seed, size=64):
    """A grey striped, noisy 'metal' surface, float32 in [0, 255]."""
    rng = np.random.default_rng(seed)
    stripes = 20 * np.sin(np.arange(size) / 1.7 + rng.uniform(0, 6))[None, :]
    noise = cv2.GaussianBlur(rng.normal(0, 12, (size, size)).astype(np.float32), (0, 0), 1)
    return np.clip(110 + stripes + noise, 0, 255).astype(np.float32)


def surfaces(n, size=64, seed=0):
    return np.stack([surface(seed + i, size) for i in range(n)]).round().astype(np.uint8)


def tiny_settings(**kw):
    base = dict(iterations=4, batch_size=4, lr=3e-3, seed=0, checkpoint_interval=2,
                log_interval=2)
    base.update(kw)
    return TrainSettings(**base)


def tiny_model(**kw):
    torch.manual_seed(0)
    return ANOMALY_MODELS.build(dict(TINY, **kw))


# --- synthetic defects ---------------------------------------------------------------------

@pytest.mark.parametrize('kind', sorted(GENERATORS))
def test_synthetic_mask_marks_the_changed_pixels(kind):
    image = surface(1, 128)
    pool = [surface(2, 128), surface(3, 128)]
    labelled = 0
    for seed in range(6):
        out, mask = SyntheticDefects({kind: 1}, normal_prob=0.0, max_defects=1)(
            image, np.random.default_rng(seed), pool)
        assert out.shape == image.shape and mask.shape == image.shape and mask.dtype == bool
        assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 255
        diff = np.abs(out - image)
        assert not (mask & (diff == 0) & (cv2.GaussianBlur(diff, (0, 0), 1) == 0)).any()
        if mask.sum() >= 10:
            labelled += 1
            assert diff[mask].mean() > 2 * diff[~mask].mean() + 1e-6
    assert labelled >= 3, f'{kind}: too few visible defects'


def test_visible_change_mask_ignores_unchanged_regions():
    image = surface(0, 64)
    intended = np.zeros(image.shape, bool)
    intended[10:40, 10:40] = True
    assert not visible_change_mask(image, image.copy(), intended, 0.04).any()
    changed = image.copy()
    changed[20:30, 20:30] *= 0.5
    mask = visible_change_mask(image, changed, intended, 0.04)
    assert mask[22:28, 22:28].all() and not mask[:8].any()


def test_synthetic_defects_are_seeded_and_validated():
    gen = SyntheticDefects()
    a = gen(surface(0), np.random.default_rng(5))
    b = gen(surface(0), np.random.default_rng(5))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    with pytest.raises(ValueError, match='unknown synthetic defect'):
        SyntheticDefects(dict(scratchy=1))
    normal, mask = SyntheticDefects(normal_prob=0.999)(surface(0), np.random.default_rng(0))
    assert not mask.any() and np.array_equal(normal, surface(0))


# --- texture statistics and memory ---------------------------------------------------------

def test_texture_features_shape_and_size_check():
    x = torch.randn(2, 1, 64, 96)
    feats = texture_features(x, 8)
    assert feats.shape == (2, texture_channels(), 8, 12) and torch.isfinite(feats).all()
    with pytest.raises(ValueError, match='divisible'):
        texture_features(torch.randn(1, 1, 60, 64), 8)


@pytest.mark.parametrize('layout', ['positional', 'global'])
def test_gaussian_memory_scores_outliers_higher(layout):
    gen = torch.Generator().manual_seed(0)
    normal = torch.randn(200, 3, 4, 5, generator=gen)
    memory = GaussianMemory(3, (4, 5), layout=layout, trim=0.1)
    with pytest.raises(RuntimeError, match='not fitted'):
        memory(normal[:1])
    memory.fit(normal)
    test = torch.randn(2, 3, 4, 5, generator=gen)
    test[1, :, 2, 3] += 8
    dist = memory(test)
    assert dist.shape == (2, 4, 5)
    assert dist[1, 2, 3] > 3 * dist[0].median()


def test_trimmed_memory_resists_contamination():
    gen = torch.Generator().manual_seed(0)
    pool = torch.randn(300, 2, 1, 1, generator=gen)
    pool[:30] += 12                                    # 10% far outliers in the training pool
    probe = torch.zeros(1, 2, 1, 1)
    plain = GaussianMemory(2, (1, 1), trim=0.0)
    plain.fit(pool)
    trimmed = GaussianMemory(2, (1, 1), trim=0.15)
    trimmed.fit(pool)
    assert trimmed.mean.abs().max() < 0.3 < plain.mean.abs().max()
    outlier = torch.full((1, 2, 1, 1), 4.0)
    assert trimmed(outlier) - trimmed(probe) > plain(outlier) - plain(probe)


def test_self_similarity_scores_the_odd_cell_of_a_repeating_texture():
    """Stripes repeat across the image: every stripe cell has close neighbours in its own
    image, a pit has none, even where no memory of other images could help."""
    gen = torch.Generator().manual_seed(0)
    images = torch.from_numpy(surfaces(6)).float()[:, None]
    feats = texture_features((images - images.mean()) / images.std(), 8)
    scorer = SelfSimilarity(texture_channels(), knn_fraction=0.25)
    with pytest.raises(RuntimeError, match='not fitted'):
        scorer(feats[:1])
    scorer.fit(feats)
    test = images[:1].clone()
    test[0, 0, 26:34, 42:50] = 250.0 + torch.rand(8, 8, generator=gen)       # a bright pit
    scores = scorer(texture_features((test - images.mean()) / images.std(), 8))[0]
    assert scores.shape == (8, 8)
    assert torch.nonzero(scores == scores.max())[0].tolist() in ([3, 5], [3, 6], [4, 5], [4, 6])
    assert scores.max() > 3 * scores.median()
    with pytest.raises(ValueError, match='knn_fraction'):
        SelfSimilarity(texture_channels(), knn_fraction=1.0)


# --- model ---------------------------------------------------------------------------------

def test_model_shapes_and_normalised_scores():
    model = tiny_model().eval()
    images = torch.from_numpy(surfaces(6)).float()[:, None].expand(-1, 3, -1, -1)
    model.fit(images)
    out = model(images[:2])
    assert out['anomaly_map'].shape == (2, 16, 16) and out['image_score'].shape == (2,)
    assert torch.isfinite(out['anomaly_map']).all()
    with pytest.raises(ValueError, match='input_size'):
        model(torch.zeros(1, 3, 32, 32))


def test_model_global_layout_and_weights():
    model = tiny_model(layout='global', weights=dict(feature=0.0)).eval()
    model.fit(torch.from_numpy(surfaces(4))[:, None])          # uint8, one channel
    assert not bool(model.feature_memory.fitted)
    assert model(torch.full((1, 3, 64, 64), 100.0))['anomaly_map'].shape == (1, 16, 16)
    with pytest.raises(ValueError, match='unknown score weights'):
        ANOMALY_MODELS.build(dict(TINY, weights=dict(colour=1.0)))
    with pytest.raises(ValueError, match='divisible by 32'):
        ANOMALY_MODELS.build(dict(TINY, input_size=(60, 64)))


def test_model_with_self_similarity_and_a_checkpoint_from_before_it():
    """Weighted, self-similarity is fitted and scored; a checkpoint saved before it existed
    (three scores, no self-similarity buffers) loads and gives the same maps."""
    images = torch.from_numpy(surfaces(6)).float()[:, None].expand(-1, 3, -1, -1)
    model = tiny_model(weights=dict(self_similarity=1.0)).eval()
    model.fit(images)
    assert bool(model.self_similarity.fitted)
    assert set(model.raw_scores(images[:1])) == {'segmentation', 'texture', 'feature',
                                                 'self_similarity'}
    assert torch.isfinite(model(images[:2])['anomaly_map']).all()

    plain = tiny_model().eval()
    plain.fit(images)
    old = {k: v for k, v in plain.state_dict().items()
           if not k.startswith(('self_similarity.', 'tail_'))}
    old['score_centre'], old['score_scale'] = old['score_centre'][:3], old['score_scale'][:3]
    loaded = tiny_model().eval()
    loaded.load_state_dict(old)
    assert torch.allclose(loaded(images[:2])['anomaly_map'], plain(images[:2])['anomaly_map'])


def test_tail_surprise_is_minus_log_of_the_tail_probability():
    values = np.arange(10000, dtype=np.float64)          # P(S >= v) = (10000 - v) / 10000
    table = [torch.from_numpy(t) for t in tail_table(values)]
    probe = torch.tensor([-5.0, 0.0, 5000.0, 9000.0, 9900.0])
    expected = -np.log((10000 - np.array([0, 0, 5000, 9000, 9900])) / 10000)
    assert np.allclose(tail_surprise(probe, *table).numpy(), expected, atol=0.02)
    beyond = tail_surprise(torch.tensor([9999.0, 12000.0, 15000.0]), *table)
    assert np.log(10000) - 0.1 < beyond[0] < np.log(10000) + 0.5 < beyond[1] < beyond[2]
    # a run of equal values (a saturated score) gets the smallest surprise of the run
    repeated = [torch.from_numpy(t) for t in tail_table(np.r_[np.zeros(9000), np.ones(1000)])]
    assert tail_surprise(torch.tensor([0.0, 1.0]), *repeated).tolist() == \
        pytest.approx([0.0, np.log(10)], abs=0.05)
    with pytest.raises(ValueError, match='at least two'):
        tail_table(np.ones(1))


def test_tail_normalisation_puts_every_score_on_the_surprise_scale():
    """Fitted with normalisation='tail', each score's share of training pixels at surprise
    >= t is about exp(-t); a spread-fitted checkpoint loads but must be refitted for it."""
    images = torch.from_numpy(surfaces(8)).float()[:, None]
    model = tiny_model(normalisation='tail').eval()
    model.fit(images)
    assert model.settings()['normalisation'] == 'tail'
    for k, raw in model.raw_scores(images).items():
        surprise = model.normalise(k, raw)
        assert float((surprise >= np.log(10)).float().mean()) == pytest.approx(0.1, abs=0.03), k
    assert torch.isfinite(model(images[:2])['anomaly_map']).all()

    spread = tiny_model().eval()
    spread.fit(images)
    switched = tiny_model(normalisation='tail').eval()
    switched.load_state_dict(spread.state_dict())
    with pytest.raises(RuntimeError, match='fit it again'):
        switched(images[:1])
    switched.fit(images)
    assert torch.allclose(switched(images[:2])['anomaly_map'], model(images[:2])['anomaly_map'])
    with pytest.raises(ValueError, match='normalisation must be one of'):
        tiny_model(normalisation='rank')


def test_image_centring_removes_a_per_image_offset():
    """centre='image': the map is the pool-centred map less its own median (so an offset of a
    whole image, e.g. from another camera, is gone); a local defect still stands out."""
    images = torch.from_numpy(surfaces(6)).float()[:, None]
    model = tiny_model(centre='image').eval()
    model.fit(images)
    assert model.settings()['centre'] == 'image'
    probe = images[:1].clone()
    probe[..., 24:40, 24:40] = 250.0
    out = model(probe)
    amap = out['anomaly_map'][0]
    assert float(amap.median()) == pytest.approx(0.0, abs=1e-6)
    assert float(amap[6:10, 6:10].mean()) > float(amap.median()) + 0.5
    pool = tiny_model().eval()
    pool.fit(images)
    plain = pool(probe)['anomaly_map'][0]
    assert torch.allclose(amap, plain - plain.median(), atol=1e-5)
    with pytest.raises(ValueError, match='centre must be one of'):
        tiny_model(centre='batch')



def two_source_pool():
    """12 images of one source and 4 of another camera (noisier, lit from one side)."""
    rng = np.random.default_rng(5)
    other = [surface(50 + i) + rng.normal(0, 25, (64, 64)) + np.linspace(-60, 60, 64)[None, :]
             for i in range(4)]
    other = np.clip(np.stack(other), 0, 255).round().astype(np.uint8)
    return torch.from_numpy(np.concatenate([surfaces(12), other])).float()[:, None]


def test_neighbour_reference_levels_a_minority_source_and_keeps_a_defect():
    """centre='neighbours': a minority source's raised maps come down to the majority's level
    (its images are each other's neighbours), an image is never its own reference, a local
    defect still stands out, and the pool travels in the checkpoint."""
    images = two_source_pool()
    plain = tiny_model().eval()
    plain.fit(images)
    medians = plain(images)['anomaly_map'].flatten(1).median(1).values
    assert float(medians[12:].mean()) > float(medians[:12].mean()) + 0.05
    model = tiny_model(centre='neighbours', reference_k=3).eval()
    model.fit(images)
    assert model.settings()['centre'] == 'neighbours'
    assert tuple(model.reference.maps.shape) == (16, 16, 16)
    medians = model(images)['anomaly_map'].flatten(1).median(1).values
    assert abs(float(medians[12:].mean()) - float(medians[:12].mean())) < 0.03
    one = tiny_model(centre='neighbours', reference_k=1).eval()
    one.fit(images)
    assert float(one(images[:4])['anomaly_map'].abs().amax()) > 0.1      # not itself
    probe = images[12:13].clone()
    probe[..., 24:40, 24:40] = 250.0
    amap = model(probe)['anomaly_map'][0]
    assert float(amap[6:10, 6:10].mean()) > float(amap.median()) + 1.0
    loaded = tiny_model(centre='neighbours', reference_k=3).eval()
    loaded.load_state_dict(model.state_dict())
    assert torch.equal(loaded(images[:3])['anomaly_map'], model(images[:3])['anomaly_map'])
    older = {k: v for k, v in plain.state_dict().items() if not k.startswith('reference.')}
    unfitted = tiny_model(centre='neighbours').eval()
    unfitted.load_state_dict(older)
    with pytest.raises(RuntimeError, match='not fitted'):
        unfitted(images[:1])


def test_neighbour_reference_skips_copies_and_refuses_other_settings():
    """A pool of exact pairs: an image's copy is not its reference (it would erase the map);
    a reference fitted with spread normalisation is refused under tail; refitting without
    centre='neighbours' empties it; one image is too few."""
    images = torch.cat([two_source_pool()] * 2)
    model = tiny_model(centre='neighbours', reference_k=1).eval()
    model.fit(images)
    assert float(model.reference.self_radius) > 0
    amap = model(images)['anomaly_map']
    assert float(amap.flatten(1).abs().amax(1).min()) > 0.1
    assert torch.isfinite(amap).all()
    model.normalisation = 'tail'
    model.fit(images)
    model.normalisation = 'spread'
    with pytest.raises(RuntimeError, match='other normalisation or weights'):
        model(images[:1])
    model.centre = 'pool'
    model.fit(images)
    assert not model.reference.fitted
    with pytest.raises(ValueError, match='at least two training images'):
        tiny_model(centre='neighbours', layout='global').fit(images[:1])


def test_thumbnail_grid_follows_the_aspect():
    assert thumbnail_grid((64, 64)) == (11, 12)
    rows, cols = thumbnail_grid((160, 416))
    assert rows * cols == pytest.approx(THUMB_CELLS, rel=0.1) and cols / rows > 2


# --- training ------------------------------------------------------------------------------

def scheduled_lrs(settings):
    """The learning rate of each iteration under :func:`param_schedulers`, as the Runner's
    ParamSchedulerHook steps them."""
    from mmengine.optim import OptimWrapper
    from mmengine.registry import PARAM_SCHEDULERS
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=settings.lr)
    wrapper = OptimWrapper(optimizer)
    schedulers = [PARAM_SCHEDULERS.build(dict(cfg, optimizer=wrapper))
                  for cfg in param_schedulers(settings)]
    lrs = []
    for _ in range(settings.iterations):
        lrs.append(optimizer.param_groups[0]['lr'])
        for scheduler in schedulers:
            scheduler.step()
    return lrs


def test_learning_rate_schedule():
    """Linear warm-up from lr / warmup to lr, then cosine decay to 1% of lr."""
    s = tiny_settings(iterations=100, warmup_ratio=0.1, lr=1.0)
    lrs = scheduled_lrs(s)
    assert lrs[0] == pytest.approx(0.1) and lrs[4] == pytest.approx(0.5)
    assert lrs[9] == pytest.approx(1.0)
    t = (54 - 10) / 90
    assert lrs[54] == pytest.approx(0.01 + 0.99 * 0.5 * (1 + np.cos(np.pi * t)))
    assert lrs[99] < 0.05 and all(a >= b for a, b in zip(lrs[9:], lrs[10:]))
    assert scheduled_lrs(tiny_settings(iterations=10, lr=1.0))[0] == pytest.approx(1.0)


def test_synthetic_batch_depends_only_on_seed_and_iteration():
    images = surfaces(5)
    a = synthetic_batch(images, 3, 0, 4, SyntheticDefects(), 4)
    b = synthetic_batch(images, 3, 0, 4, SyntheticDefects(), 4)
    c = synthetic_batch(images, 4, 0, 4, SyntheticDefects(), 4)
    assert a[0].shape == (4, 1, 64, 64) and a[1].shape == (4, 1, 16, 16)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and not torch.equal(a[0], c[0])
    dataset = SyntheticDefectDataset(images, iterations=6, batch_size=4, seed=0, out_stride=4)
    assert len(dataset) == 6 and torch.equal(dataset[3]['inputs'], a[0])
    assert torch.equal(dataset[3]['targets'], a[1])


def test_training_lowers_the_loss_and_logs_it_for_mmengine(tmp_path):
    log = train_synthseg(tiny_model(), surfaces(8), tmp_path,
                         tiny_settings(iterations=40, batch_size=8, checkpoint_interval=40,
                                       log_interval=4))
    losses = log['losses']                  # each the mean over 4 iterations
    assert log['loss_steps'] == list(range(4, 41, 4))
    assert np.mean(losses[-2:]) < 0.85 * np.mean(losses[:2])
    assert (tmp_path / MODEL_FILE).is_file() and (tmp_path / 'loss_curve.png').is_file()
    assert json.loads((tmp_path / 'train_log.json').read_text())['iterations'] == 40
    # The Runner's work dir: vis_data/scalars.json holds the loss and the learning rate.
    records = read_scalars(tmp_path)
    assert [r['step'] for r in records] == log['loss_steps']
    assert [r['loss'] for r in records] == pytest.approx(losses)
    assert all('lr' in r for r in records)
    assert (tmp_path / 'iter_40.pth').is_file() and (tmp_path / LAST_CHECKPOINT).is_file()


def test_training_is_deterministic_and_checkpoint_round_trips(tmp_path):
    images = surfaces(6)
    train_synthseg(tiny_model(), images, tmp_path / 'a', tiny_settings())
    train_synthseg(tiny_model(), images, tmp_path / 'b', tiny_settings())
    sa = torch.load(tmp_path / 'a' / MODEL_FILE, weights_only=True)
    sb = torch.load(tmp_path / 'b' / MODEL_FILE, weights_only=True)
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    # The finished model loads through the generic builder (strict state dict).
    rebuilt = build_anomaly_model(dict(model=TINY, checkpoint=str(tmp_path / 'a' / MODEL_FILE)))
    trained = tiny_model()
    trained.load_state_dict(sa)
    x = torch.from_numpy(images[:2]).float()[:, None].expand(-1, 3, -1, -1)
    assert torch.allclose(rebuilt(x)['anomaly_map'], trained.eval()(x)['anomaly_map'])


class Killed(Exception):
    """Stands for a kill in the middle of training."""


def kill_at(iteration):
    from mmengine.hooks import Hook

    class KillHook(Hook):
        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            if batch_idx + 1 == iteration:
                raise Killed(f'killed after iteration {iteration}')

    return KillHook()


def test_training_resumes_after_a_kill_and_refuses_other_settings(tmp_path):
    images, settings = surfaces(6), tiny_settings(iterations=6)
    whole = train_synthseg(tiny_model(), images, tmp_path / 'whole', settings)
    # Killed during iteration 5, after the checkpoint of iteration 4: resumed from there.
    with pytest.raises(Killed):
        train_synthseg(tiny_model(), images, tmp_path / 'killed', settings,
                       custom_hooks=[kill_at(5)])
    assert not (tmp_path / 'killed' / MODEL_FILE).exists()
    assert (tmp_path / 'killed' / LAST_CHECKPOINT).read_text().endswith('iter_4.pth')
    resumed = train_synthseg(tiny_model(), images, tmp_path / 'killed', settings)
    assert resumed['losses'] == whole['losses'] and resumed['loss_steps'] == [2, 4, 6]
    sw = torch.load(tmp_path / 'whole' / MODEL_FILE, weights_only=True)
    sk = torch.load(tmp_path / 'killed' / MODEL_FILE, weights_only=True)
    assert all(torch.equal(sw[k], sk[k]) for k in sw)
    with pytest.raises(ValueError, match='other settings'):
        train_synthseg(tiny_model(), images, tmp_path / 'killed', tiny_settings(iterations=6,
                                                                                  lr=1e-3))
    with pytest.raises(ValueError, match='other settings'):  # same network, another input size
        train_synthseg(tiny_model(input_size=(64, 32)), images[:, :, :32], tmp_path / 'killed',
                       settings)


def test_train_tool_on_a_folder(tmp_path):
    sys.path.insert(0, str(REPO / 'tools'))
    try:
        import train_anomaly_model
    finally:
        sys.path.pop(0)
    img_dir = tmp_path / 'images'
    img_dir.mkdir()
    for i, image in enumerate(surfaces(5, 80)):
        cv2.imwrite(str(img_dir / f'{i}.png'), image)
    (img_dir / 'broken.jpg').write_bytes(b'not an image')
    config = REPO / 'configs' / 'anomaly' / 'synthseg_magnetic_tile.py'
    options = ['model.input_size=(64,64)', 'model.widths=(4,8,8,8,8)',
               'model.decoder_channels=8', 'train.iterations=2', 'train.batch_size=2',
               'train.bf16=False', 'train.num_threads=None']
    code = train_anomaly_model.main([str(config), '--img-dir', str(img_dir), '--work-dir',
                                     str(tmp_path / 'work'), '--no-progress',
                                     '--cfg-options', *options])
    assert code == 0
    log = json.loads((tmp_path / 'work' / 'train_log.json').read_text())
    assert log['images'] == 5 and [s['image'] for s in log['skipped']] == [
        str(img_dir / 'broken.jpg')]
    assert train_anomaly_model.main([str(config), '--img-dir', str(tmp_path / 'none'),
                                     '--work-dir', str(tmp_path / 'w2')]) == 1


# --- settings that follow from the data ------------------------------------------------------

def test_aspect_input_size_keeps_the_ratio_within_the_budget():
    assert aspect_input_size((256, 256), (460, 1130)) == (160, 416)
    assert aspect_input_size((128, 128), (1, 4)) == (64, 256)
    assert aspect_input_size((256, 256), (4, 1)) == (512, 128)
    assert aspect_input_size((64, 64), (1, 50)) == (32, 448)   # sides never below 32


def wide_surface(seed, hw=(64, 256)):
    """A horizontally striped noisy surface, float32 in [0, 255]."""
    rng = np.random.default_rng(seed)
    stripes = 20 * np.sin(np.arange(hw[0]) / 1.7 + rng.uniform(0, 6))[:, None]
    noise = cv2.GaussianBlur(rng.normal(0, 12, hw).astype(np.float32), (0, 0), 1)
    return np.clip(110 + stripes + noise, 0, 255).astype(np.float32)


def test_thin_mark_on_a_wide_image_survives_into_the_map(tmp_path):
    from agssp.anomaly.synthseg.trainer import train_from_config
    from agssp.anomaly.writer import generate_anomaly_maps
    from agssp.core.anomaly_maps import load_anomaly_map
    pool = tmp_path / 'pool'
    pool.mkdir()
    for i in range(12):
        cv2.imwrite(str(pool / f'{i}.png'), wide_surface(i).round().astype(np.uint8))
    marked = wide_surface(99)
    marked[8:56, 180:182] = 10                     # a 2-pixel dark mark on a 64x256 image
    test_dir = tmp_path / 'test'
    test_dir.mkdir()
    cv2.imwrite(str(test_dir / 'marked.png'), marked.round().astype(np.uint8))
    # Texture memory only: weights-free, so the test checks the geometry, not training luck.
    model_cfg = dict(TINY, input_size=(128, 128), aspect='keep', layout='global',
                     weights=dict(segmentation=0.0, feature=0.0))
    cfg = dict(model=model_cfg, train=dict(iterations=1, batch_size=2, seed=0))
    log = train_from_config(cfg, sorted(pool.glob('*.png')), tmp_path / 'work', progress=False)
    assert log['model']['input_size'] == [64, 256] and log['model']['aspect'] == 'keep'
    # The config still says 128x128; the checkpoint brings the pool's 64x256.
    model = build_anomaly_model(dict(model=model_cfg,
                                     checkpoint=str(tmp_path / 'work' / MODEL_FILE)))
    assert model.input_size == (64, 256)
    generate_anomaly_maps(model, test_dir, tmp_path / 'maps', num_workers=0, progress=False)
    amap = load_anomaly_map(tmp_path / 'maps' / 'marked.npy')
    assert amap.shape == (16, 64)                  # the image's 4:1 aspect, 1/4 resolution
    column = int(np.argmax(amap.max(0))) * 4 + 2   # map column centre in image pixels
    assert abs(column - 181) <= 8, column
    assert amap[:, 40:50].max() > 2 * np.median(amap)


def _patterned_pool(n, shifted, seed=0):
    """Noisy surfaces with one bright square: at the same place, or at random places."""
    rng = np.random.default_rng(seed)
    images = []
    for i in range(n):
        image = rng.normal(100, 8, (64, 64)).astype(np.float32)
        image[8:24, 32:56] += 80
        if shifted:
            image = np.roll(image, tuple(rng.integers(0, 64, 2)), axis=(0, 1))
        images.append(np.clip(image, 0, 255))
    return torch.from_numpy(np.stack(images).round().astype(np.uint8))[:, None]


def test_layout_follows_the_pool_alignment(caplog):
    aligned, shifted = _patterned_pool(24, False), _patterned_pool(24, True)
    with caplog.at_level(logging.INFO, logger='agssp'):
        model = tiny_model(layout='auto').eval()
        model.fit(aligned)
    assert model.layout == 'positional' and model.texture_memory.layout == 'positional'
    assert model.settings()['alignment'] > 0.5 and model.settings()['layout_rule'] == 'auto'
    assert 'pool alignment' in caplog.text
    state = model.state_dict()
    model = tiny_model(layout='auto').eval()
    model.fit(shifted)
    assert model.layout == 'global' and model.feature_memory.layout == 'global'
    assert model.settings()['alignment'] < 0.1
    # The choice travels with the checkpoint, whatever the config's starting layout.
    reloaded = tiny_model(layout='auto')
    reloaded.load_state_dict(state)
    assert reloaded.layout == 'positional' and reloaded.settings()['alignment'] > 0.5
    # Checkpoints from before these settings load (strictly) with the config's choices.
    older = {k: v for k, v in state.items()
             if k not in ('chosen_input_size', 'chosen_layout', 'alignment')}
    previous = tiny_model(layout='positional')
    previous.load_state_dict(older)
    assert previous.layout == 'positional' and previous.settings()['alignment'] is None
    # A fixed layout is kept, the alignment still measured and recorded.
    fixed = tiny_model(layout='global').eval()
    fixed.fit(aligned)
    assert fixed.layout == 'global' and fixed.settings()['alignment'] > 0.5
    with pytest.raises(ValueError, match='layout must be one of'):
        tiny_model(layout='aligned')


def test_pool_alignment_statistic():
    gen = torch.Generator().manual_seed(0)
    noise = torch.randn(50, 3, 6, 6, generator=gen)
    assert pool_alignment(noise) < 0.05
    pattern = 5 * torch.randn(1, 3, 6, 6, generator=gen)
    assert pool_alignment(noise + pattern) > 0.9
    with pytest.raises(ValueError, match='two images'):
        pool_alignment(noise[:1])


def test_default_config_follows_the_data(tmp_path):
    sys.path.insert(0, str(REPO / 'tools'))
    try:
        import train_anomaly_model
    finally:
        sys.path.pop(0)
    img_dir = tmp_path / 'images'
    img_dir.mkdir()
    for i in range(6):
        cv2.imwrite(str(img_dir / f'{i}.png'), wide_surface(i).round().astype(np.uint8))
    options = ['model.input_size=(128,128)', 'model.widths=(4,8,8,8,8)',
               'model.decoder_channels=8', 'train.iterations=1', 'train.batch_size=2',
               'train.bf16=False', 'train.num_threads=None']
    code = train_anomaly_model.main([str(REPO / 'configs' / 'anomaly' / 'synthseg.py'),
                                     '--img-dir', str(img_dir), '--work-dir',
                                     str(tmp_path / 'work'), '--no-progress',
                                     '--cfg-options', *options])
    assert code == 0
    settings = json.loads((tmp_path / 'work' / 'train_log.json').read_text())['model']
    assert settings['input_size'] == [64, 256] and settings['layout_rule'] == 'auto'
    assert settings['layout'] in ('positional', 'global') and settings['alignment'] is not None


# --- Magnetic Tile protocol ----------------------------------------------------------------

def test_magnetic_tile_protocol(magnetic_tile_root, tmp_path):
    clean = magnetic_tile_protocol(magnetic_tile_root, seed=0)
    free = sorted((magnetic_tile_root / NORMAL_CLASS).rglob('*.jpg'))
    assert len(clean.train) == round(0.7 * len(free))
    test_free = [t.image for t in clean.test if t.cls == NORMAL_CLASS]
    assert len(test_free) == len(free) - len(clean.train)
    assert not set(test_free) & set(clean.train)
    assert {t.cls for t in clean.test} == {NORMAL_CLASS, *DEFECT_CLASSES}
    assert all((t.mask is None) == (t.cls == NORMAL_CLASS) for t in clean.test)
    assert magnetic_tile_protocol(magnetic_tile_root, seed=0).train == clean.train
    assert magnetic_tile_protocol(magnetic_tile_root, seed=1).train != clean.train

    dirty = magnetic_tile_protocol(magnetic_tile_root, seed=0, contaminated=True)
    defect_train = [p for p in dirty.train if not p.startswith(NORMAL_CLASS)]
    defect_test = [t.image for t in dirty.test if t.cls != NORMAL_CLASS]
    assert not set(defect_train) & set(defect_test)
    for cls in DEFECT_CLASSES:
        n = len(list((magnetic_tile_root / cls).rglob('*.jpg')))
        assert sum(p.startswith(cls + '/') for p in defect_train) == n // 2

    files = write_split_folders(clean, tmp_path)
    assert files['train_list'].read_text().split() == clean.train
    linked = sorted(p.relative_to(files['test_dir']).as_posix()
                    for p in files['test_dir'].rglob('*.jpg'))
    assert linked == sorted(t.image for t in clean.test)
    some = next(t for t in clean.test if t.mask)
    assert (files['test_dir'] / some.mask).is_file()
