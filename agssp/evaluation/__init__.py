"""Evaluation: anomaly-map metrics and the quality of pseudo boxes."""
from agssp.evaluation import anomaly_metrics  # noqa: F401
