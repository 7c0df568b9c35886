"""Every figure: map overlays, boxes on images, training curves, AGBP alignment plots (PNG)."""
