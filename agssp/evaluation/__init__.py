"""Evaluation: anomaly-map metrics, pseudo-box quality and detection metrics."""
