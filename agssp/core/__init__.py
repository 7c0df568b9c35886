"""What every stage shares and that imports no stage: file and image I/O, the one input-error
type, atomic writes, COCO files, the anomaly-map contract, mmengine's training logs."""
