"""AGDP's input: anomaly maps thresholded into single-class pseudo-defect boxes.

:mod:`.thresholds` (per-image / per-source thresholds), :mod:`.rule` (map -> boxes),
:mod:`.export` (a whole pool -> one COCO file), :mod:`.random_boxes` (the random-places control),
:mod:`.dataset` (the mmdet dataset that thresholds on the fly; registered when a config imports
it). Importing this package, the rule or the thresholds loads no detection framework.
"""
