"""Stage orchestration for the one-command AGSSP run and its report."""
from agssp.pipeline.agssp_pipeline import AgsspPipeline, pipeline_stages
from agssp.pipeline.stage_runner import Stage, run_stages

__all__ = ['AgsspPipeline', 'Stage', 'pipeline_stages', 'run_stages']
