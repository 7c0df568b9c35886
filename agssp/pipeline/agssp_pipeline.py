"""The AGSSP run, stage by stage: data, maps, AGBP, pseudo boxes, AGDP, fine-tuning, report.

Each stage reads what earlier stages wrote (paths derived from the work dir, never passed
around in memory), so a stopped run resumes at the stage it was in.
"""
import functools
import json
import shutil
from pathlib import Path

from agssp.core.fileio import atomic_write_json
from agssp.engine.detector_adapter import (set_batch_size, set_dataset, set_epochs, set_img_size,
                                           set_init)
from agssp.engine.runner_setup import kept_checkpoint
from agssp.pipeline.agbp_settings import set_init_checkpoint, set_num_sources
from agssp.pipeline.config_edit import (REPO_ROOT, config_digest, dump_stage_config,
                                        load_stage_config)
from agssp.pipeline.recipes import with_detector_recipes
from agssp.pipeline.splits import held_out_split, train_ann_of
from agssp.pipeline.stage_runner import Stage, jsonable, run_id
from agssp.pipeline.training import train

STAGE_NAMES = ('data', 'anomaly_model', 'anomaly_maps', 'agbp', 'pseudo_boxes', 'agdp',
               'cls_pretrain', 'random_boxes', 'finetune', 'report')
# Fine-tuning arms (the paper's rows and two controls) and the stage whose result each starts
# from: scratch; cls = source classification alone on the pool (AGBP with distillation weight
# 0); agbp = AGBP backbone; agssp = AGBP backbone + AGDP neck/head; random_boxes = AGBP backbone
# + AGDP on the pseudo boxes moved to random places; pretrained = a backbone checkpoint the user
# names (finetune.pretrained).
ARMS = {'scratch': None, 'cls': 'cls_pretrain', 'agbp': 'agbp', 'agssp': 'agdp',
        'random_boxes': 'random_boxes', 'pretrained': None}
DEFAULT_ARMS = ('scratch', 'agssp')


class AgsspPipeline:
    """Stages of one pipeline config (see ``configs/pipeline/demo.py``) under ``work_dir``."""

    stage_names = STAGE_NAMES

    def __init__(self, cfg, work_dir, log=print):
        self.cfg, self.work_dir, self.log = with_detector_recipes(cfg), Path(work_dir), log

    # ---- where each stage keeps its results -------------------------------------------------
    def stage_dir(self, name) -> Path:
        return self.work_dir / f'{STAGE_NAMES.index(name) + 1:02d}_{name}'

    def data_info(self) -> dict:
        return json.loads((self.stage_dir('data') / 'data.json').read_text())

    @property
    def maps_dir(self) -> Path:
        return self.stage_dir('anomaly_maps') / 'maps'

    @property
    def backbone_file(self) -> Path:
        return self.stage_dir('agbp') / 'backbone.pth'

    # ---- stages --------------------------------------------------------------------------------
    @property
    def arms(self) -> list:
        """The fine-tuning arms of this run (``finetune.arms``), checked."""
        arms = list(self.cfg.finetune.get('arms', DEFAULT_ARMS))
        unknown = [a for a in arms if a not in ARMS]
        if unknown or not arms:
            raise ValueError(f'finetune.arms: unknown {unknown} (known: {list(ARMS)})')
        return arms

    @functools.cached_property
    def finetune_settings(self) -> dict:
        """The fine-tuning stage's settings with the digest of the config it resolves."""
        ft = self.cfg.finetune
        return dict(ft, arms=self.arms,
                    resolved=config_digest(ft['config'], ft.get('overrides')))

    def stages(self):
        """Every stage, in order; each one's settings include the digest of the stage config it
        resolves (recipe files and their bases), so an edited recipe reruns its stage."""
        c, arms = self.cfg, self.arms
        anomaly = dict(c.anomaly, resolved=config_digest(c.anomaly['config'],
                                                         c.anomaly.get('overrides')))
        agbp = dict(c.agbp, resolved=config_digest(c.agbp['config'], c.agbp.get('overrides')))
        agdp = dict(c.agdp, pseudo_boxes=dict(c.pseudo_boxes),
                    resolved=config_digest(c.agdp['config'], c.agdp.get('overrides')))
        return [
            Stage('data', dict(c.data), self.run_data),
            Stage('anomaly_model', anomaly, self.run_anomaly_model, deps=['data']),
            Stage('anomaly_maps', anomaly, self.run_anomaly_maps,
                  deps=['data', 'anomaly_model']),
            Stage('agbp', agbp, self.run_agbp, deps=['data', 'anomaly_maps']),
            Stage('pseudo_boxes', self.pseudo_box_settings(), self.run_pseudo_boxes,
                  deps=['data', 'anomaly_maps']),
            Stage('agdp', agdp, self.run_agdp, deps=['data', 'anomaly_maps', 'agbp']),
            Stage('cls_pretrain', dict(agbp, needed='cls' in arms), self.run_cls_pretrain,
                  deps=['data', 'anomaly_maps']),
            Stage('random_boxes', dict(agdp, needed='random_boxes' in arms),
                  self.run_random_boxes, deps=['data', 'agbp', 'pseudo_boxes']),
            Stage('finetune', self.finetune_settings, self.run_finetune, keep_folder=True),
            Stage('report', dict(c.get('report', {})), self.run_report),
        ]

    def run_data(self, out: Path) -> dict:
        from agssp.pipeline.data_sources import prepare_data
        info = prepare_data(dict(self.cfg.data), out)
        (out / 'data.json').write_text(json.dumps(info, indent=1))
        return dict(unlabelled=info['num_unlabelled'], labelled_train=info['num_train'],
                    labelled_val=info['num_val'], sources=info['sources'])

    def run_anomaly_model(self, out: Path) -> dict:
        from agssp.anomaly.synthseg.trainer import train_from_config
        from agssp.core.images import list_images
        info = self.data_info()
        cfg = load_stage_config(self.cfg.anomaly['config'], self.cfg.anomaly.get('overrides'))
        dump_stage_config(cfg, out / 'config.py')
        root = Path(info['unlabelled_dir'])
        paths = [root / rel for rel in list_images(root)
                 if rel.suffix.lower() not in info.get('exclude_suffixes', [])]
        log = train_from_config(cfg, paths, out, resume=True)
        return dict(images=len(paths), final_loss=log.get('final_loss'))

    def run_anomaly_maps(self, out: Path) -> dict:
        from agssp.anomaly.build import build_anomaly_model
        from agssp.anomaly.writer import generate_anomaly_maps
        info = self.data_info()
        cfg = load_stage_config(self.cfg.anomaly['config'], self.cfg.anomaly.get('overrides'))
        cfg.checkpoint = str(self.stage_dir('anomaly_model') / 'synthseg.pth')
        model = build_anomaly_model(cfg)
        manifest = generate_anomaly_maps(
            model, info['unlabelled_dir'], self.maps_dir, batch_size=cfg.get('batch_size', 16),
            num_workers=cfg.get('num_workers', 2), suffixes=info.get('image_suffixes'),
            settings=dict(config=self.cfg.anomaly['config'], checkpoint=cfg.checkpoint))
        summary = dict(maps=len(manifest['written']), skipped=len(manifest['skipped']))
        if info.get('unlabelled_mask_dir'):
            from agssp.evaluation.anomaly_map_eval import evaluate_map_folder
            evaluation = evaluate_map_folder(self.maps_dir, info['unlabelled_dir'],
                                             info['unlabelled_mask_dir'])
            (out / 'map_metrics.json').write_text(json.dumps(evaluation.results, indent=1))
            summary['metrics'] = evaluation.results['overall']
        return summary

    def run_agbp(self, out: Path) -> dict:
        return self._pretrain_backbone(out, {})

    def run_cls_pretrain(self, out: Path) -> dict:
        """The ``cls`` arm's backbone: the AGBP recipe, same data, iterations and seed, with the
        distillation weight 0 (the maps are read but add nothing to the loss)."""
        if 'cls' not in self.arms:
            return dict(skipped='the cls arm is not in finetune.arms')
        return self._pretrain_backbone(out, {'model.distill_head.loss.loss_weight': 0.0})

    def _pretrain_backbone(self, out: Path, extra_overrides: dict) -> dict:
        """Train the AGBP stage config (plus ``extra_overrides``) on the pool, export its
        backbone to ``out/backbone.pth``."""
        from agssp.engine.backbone_export import (export_backbone, load_agbp_state_dict,
                                                  save_backbone_checkpoint)
        info, agbp = self.data_info(), self.cfg.agbp
        cfg = load_stage_config(agbp['config'], dict(agbp.get('overrides') or {},
                                                     **extra_overrides))
        dataset = cfg.train_dataloader.dataset
        dataset.data_root = ''
        dataset.data_prefix = dict(img_path=info['unlabelled_dir'], map_path=str(self.maps_dir))
        dataset.exclude_suffixes = tuple(info.get('exclude_suffixes', ()))
        if len(info['sources']) < 2:
            self.log(f"  warning: the pool has one source dataset ({info['sources']}): AGBP's "
                     'classification task is trivial, only the map distillation teaches the '
                     'backbone (give two or more unlabelled folders, or sources=\'subfolders\')')
        set_num_sources(cfg, len(info['sources']))
        set_init_checkpoint(cfg, agbp.get('init_checkpoint'))
        config = dump_stage_config(cfg, out / 'config.py')
        checkpoint = train(config, out, self.log)
        state, report = export_backbone(load_agbp_state_dict(checkpoint), agbp['target'],
                                        swin_out_indices=agbp.get('swin_out_indices',
                                                                  (0, 1, 2, 3)))
        backbone = out / 'backbone.pth'
        save_backbone_checkpoint(backbone, state, dict(source=str(checkpoint), **report))
        return dict(checkpoint=str(checkpoint), backbone=str(backbone))

    def pseudo_box_settings(self) -> dict:
        """The stage's settings with the threshold completed by its defaults (a changed default,
        e.g. per source vs pooled, makes the stage run again)."""
        from agssp.pseudo_boxes.thresholds import threshold_cfg_with_defaults
        pb = dict(self.cfg.pseudo_boxes)
        return dict(pb, threshold=threshold_cfg_with_defaults(pb.get('threshold')))

    def run_pseudo_boxes(self, out: Path) -> dict:
        from agssp.pseudo_boxes.export import coco_by_source, export_pseudo_boxes_coco
        from agssp.visualization.boxes import draw_coco_sample
        info, pb = self.data_info(), self.cfg.pseudo_boxes
        summary, writer = export_pseudo_boxes_coco(
            info['unlabelled_dir'], self.maps_dir, out / 'pseudo_boxes.json',
            threshold_cfg=pb.get('threshold'), box_cfg=pb.get('box_cfg'),
            workers=pb.get('workers', 2), exclude_suffixes=info.get('exclude_suffixes', ()))
        draw_coco_sample(writer.to_dict(), info['unlabelled_dir'], out / 'samples',
                         count=pb.get('num_drawn', 8))
        result = {k: summary[k] for k in ('images', 'images_with_boxes', 'boxes', 'skipped')}
        result['threshold'] = summary['threshold']
        if info.get('unlabelled_boxes'):
            from agssp.evaluation.box_quality import pseudo_box_quality
            gt = json.loads(Path(info['unlabelled_boxes']).read_text())
            result['quality'] = pseudo_box_quality(gt, writer.to_dict())['overall']
            preds = coco_by_source(writer.to_dict())
            result['quality_by_source'] = {
                source: pseudo_box_quality(truth, preds[source])['overall']
                for source, truth in coco_by_source(gt).items() if source in preds}
        return result

    def run_random_boxes(self, out: Path) -> dict:
        """The ``random_boxes`` arm's detector: AGDP (same recipe and schedule) on the pseudo
        boxes moved to random places (:mod:`agssp.pseudo_boxes.random_boxes`)."""
        from agssp.pseudo_boxes.random_boxes import random_boxes_like
        if 'random_boxes' not in self.arms:
            return dict(skipped='the random_boxes arm is not in finetune.arms')
        info, agdp = self.data_info(), self.cfg.agdp
        pseudo = json.loads((self.stage_dir('pseudo_boxes') / 'pseudo_boxes.json').read_text())
        boxes = random_boxes_like(pseudo, seed=agdp.get('random_boxes_seed', 0))
        boxes_file = boxes.dump(out / 'random_boxes.json')
        cfg = load_stage_config(agdp['config'], agdp.get('overrides'))
        cfg.train_dataloader.dataset = dict(
            type='StrictCocoDataset', data_root='', ann_file=str(boxes_file),
            data_prefix=dict(img=info['unlabelled_dir'] + '/'),
            metainfo=dict(classes=tuple(c['name'] for c in pseudo['categories'])),
            filter_cfg=cfg.train_dataloader.dataset.get('filter_cfg'),
            pipeline=cfg.train_dataloader.dataset.pipeline)
        cfg.model.backbone.init_cfg.checkpoint = str(self.backbone_file)
        self._apply_schedule(cfg, agdp)
        config = dump_stage_config(cfg, out / 'config.py')
        return dict(checkpoint=str(train(config, out, self.log)),
                    boxes=len(boxes.to_dict()['annotations']))

    def run_agdp(self, out: Path) -> dict:
        info, agdp = self.data_info(), self.cfg.agdp
        cfg = load_stage_config(agdp['config'], agdp.get('overrides'))
        dataset = cfg.train_dataloader.dataset
        dataset.update(img_dir=info['unlabelled_dir'], map_dir=str(self.maps_dir),
                       exclude_suffixes=tuple(info.get('exclude_suffixes', ())),
                       threshold=dict(self.cfg.pseudo_boxes.get('threshold') or {}) or None)
        if self.cfg.pseudo_boxes.get('box_cfg'):
            dataset.box_cfg = dict(self.cfg.pseudo_boxes['box_cfg'])
        cfg.model.backbone.init_cfg.checkpoint = str(self.backbone_file)
        self._apply_schedule(cfg, agdp)
        config = dump_stage_config(cfg, out / 'config.py')
        return dict(checkpoint=str(train(config, out, self.log)))

    def arm_init(self, arm) -> dict:
        """What fine-tuning arm ``arm`` starts from: ``dict(load_from=...)`` (a whole detector),
        ``dict(backbone=..., prefix=...)`` (a backbone checkpoint) or ``{}`` (scratch)."""
        if arm in ('agssp', 'random_boxes'):
            return dict(load_from=str(kept_checkpoint(self.stage_dir(ARMS[arm]), best=False)))
        if arm in ('agbp', 'cls'):
            return dict(backbone=str(self.stage_dir(ARMS[arm]) / 'backbone.pth'),
                        prefix='backbone.')
        if arm == 'pretrained':
            pretrained = self.cfg.finetune.get('pretrained') or {}
            return dict(backbone=pretrained['checkpoint'],
                        prefix=pretrained.get('prefix', 'backbone.'))
        return {}

    def run_finetune(self, out: Path) -> dict:
        """Every arm x seed, each in its own folder, kept while its inputs stay the same (the
        settings, the data stage's run and the run of the stage the arm starts from)."""
        info, ft = self.data_info(), self.cfg.finetune
        settings = {k: v for k, v in self.finetune_settings.items()
                    if k not in ('arms', 'pretrained')}  # what every run shares
        results, skipped = {}, {}
        for arm in self.arms:
            if arm == 'pretrained' and not (ft.get('pretrained') or {}).get('checkpoint'):
                skipped[arm] = ('no backbone checkpoint named: set finetune.pretrained='
                                "dict(checkpoint='...pth', prefix='backbone.')")
                self.log(f'  arm pretrained skipped: {skipped[arm]}')
                continue
            source = ARMS[arm]
            for seed in ft.get('seeds', [0]):
                run_dir = out / f'{arm}_seed{seed}'
                inputs = jsonable(dict(
                    settings=settings, data=run_id(self.stage_dir('data')),
                    init=run_id(self.stage_dir(source)) if source else None,
                    pretrained=ft.get('pretrained') if arm == 'pretrained' else None))
                result_file, inputs_file = run_dir / 'result.json', run_dir / 'inputs.json'
                recorded = json.loads(inputs_file.read_text()) if inputs_file.is_file() else None
                if recorded != inputs and run_dir.exists():
                    shutil.rmtree(run_dir)  # made from other inputs (or by an older version)
                if not result_file.is_file():
                    run_dir.mkdir(parents=True, exist_ok=True)
                    atomic_write_json(inputs_file, inputs, indent=1)
                    self.log(f'  fine-tuning {arm} (seed {seed})')
                    result = self._finetune_once(info, ft, run_dir, seed, arm)
                    atomic_write_json(result_file, result, indent=1)
                results[f'{arm}_seed{seed}'] = json.loads(result_file.read_text())
        return dict(runs=results, arms_skipped=skipped)

    def _finetune_once(self, info, ft, run_dir, seed, arm) -> dict:
        init, test_ann = self.arm_init(arm), held_out_split(info)[0]
        cfg = self.finetune_config(info, ft, run_dir, seed, init)
        config = dump_stage_config(cfg, run_dir / 'config.py')
        checkpoint, metrics = train(config, run_dir, self.log, best=True, test_ann=test_ann)
        return dict(checkpoint=str(checkpoint), arm=arm, init=init or 'scratch',
                    seed=int(seed), train_ann=train_ann_of(info, seed), val_ann=info['val_ann'],
                    test_ann=test_ann, **metrics)

    def finetune_config(self, info, ft, run_dir, seed, init):
        """The fine-tuning config of one run: data of ``seed``, ``init`` (:meth:`arm_init`)
        loaded, the schedule.

        The validation split picks the best checkpoint (``save_best``); the test split is only
        in ``test_dataloader``, which the training process runs once on that checkpoint
        (``tools/train.py --test-best``).
        """
        cfg = load_stage_config(ft['config'], ft.get('overrides'))
        set_dataset(cfg, info['classes'], dict(
            train=(train_ann_of(info, seed), info['train_img_dir']),
            val=(info['val_ann'], info['val_img_dir']), test=held_out_split(info)))
        cfg.val_evaluator.pop('outfile_prefix', None)
        cfg.test_evaluator.outfile_prefix = str(run_dir / 'predictions')
        cfg.randomness = dict(seed=int(seed))
        init = init or {}
        cfg.load_from = init.get('load_from')
        set_init(cfg, backbone=init.get('backbone'), prefix=init.get('prefix'))
        self._apply_schedule(cfg, ft)
        return cfg

    def _apply_schedule(self, cfg, stage_cfg):
        """Image size, epochs (YOLO: with the Mosaic switch, default 1 epoch before the end)
        and batch sizes of a detector stage, through :mod:`agssp.engine.detector_adapter`.

        Validation and test batches default to the training batch: every image is resized to
        the same size, so batching changes no prediction, only the time. Once Mosaic is off,
        YOLO validates every ``val_tail_interval`` epochs, default ``close_mosaic_epochs``: as
        the tail begins and at its end (mmyolo: every epoch; on the NEU-DET run's 10 runs the
        sparser tail picked within the seed spread, at 57 % of the validation time, README).
        """
        if stage_cfg.get('img_scale'):
            set_img_size(cfg, tuple(stage_cfg['img_scale']))
        if stage_cfg.get('epochs'):
            close = stage_cfg.get('close_mosaic_epochs', 1)
            set_epochs(cfg, stage_cfg['epochs'], close_mosaic_epochs=close,
                       val_interval=stage_cfg.get('val_interval', 1),
                       val_tail_interval=stage_cfg.get('val_tail_interval', close))
        if stage_cfg.get('batch_size'):
            set_batch_size(cfg, stage_cfg['batch_size'],
                           stage_cfg.get('val_batch_size', stage_cfg['batch_size']))
        elif stage_cfg.get('val_batch_size'):
            set_batch_size(cfg, cfg.train_dataloader.batch_size, stage_cfg['val_batch_size'])
        if 'num_workers' in stage_cfg:
            for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
                loader = cfg.get(key)
                if loader is not None:
                    loader.num_workers = stage_cfg['num_workers']
                    loader.persistent_workers = stage_cfg['num_workers'] > 0

    def run_report(self, out: Path) -> dict:
        from agssp.pipeline.report import write_report
        return write_report(self, out)


def pipeline_stages(cfg, work_dir, log=print):
    """The pipeline's stages in order (see :func:`agssp.pipeline.stage_runner.run_stages`)."""
    return AgsspPipeline(cfg, work_dir, log).stages()


__all__ = ['AgsspPipeline', 'pipeline_stages', 'REPO_ROOT']
