"""Every config under configs/ parses, and builds its model (detector, backbone or map method)."""
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

import agssp.anomaly  # noqa: F401  (registration)
import agssp.datasets  # noqa: F401  (registration)
import agssp.models  # noqa: F401  (registration)
import agssp.pseudo_boxes.dataset  # noqa: F401  (registration)
from agssp.anomaly.base import AnomalyMapModel
from agssp.anomaly.registry import ANOMALY_MODELS

pytestmark = pytest.mark.integration  # builds every detector and backbone (about 40 s)

CONFIG_ROOT = Path(__file__).resolve().parents[1] / 'configs'
# Pipeline configs hold no model: tests/test_pipeline_stages.py checks the stage configs they name.
CONFIGS = sorted(p for p in CONFIG_ROOT.rglob('*.py')
                 if '_base_' not in p.parts and 'pipeline' not in p.parts)
# KeAD needs CLIP weights that cannot reach these machines; tests/test_kead.py builds it small.
NEEDS_WEIGHTS = {'KeAD'}


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: str(p.relative_to(CONFIG_ROOT)))
def test_config_parses_and_builds_its_model(path):
    cfg = Config.fromfile(str(path))
    assert 'model' in cfg, f'{path}: no model'
    model_cfg = cfg.model
    if model_cfg.get('type') in ANOMALY_MODELS.module_dict:
        if model_cfg['type'] in NEEDS_WEIGHTS:
            pytest.skip(f'{model_cfg["type"]} needs CLIP weights (built small in its own tests)')
        assert isinstance(ANOMALY_MODELS.build(model_cfg), AnomalyMapModel)
        return
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = MODELS.build(model_cfg)
    assert sum(p.numel() for p in model.parameters()) > 0
