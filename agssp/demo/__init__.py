"""Embedded demo data: synthetic metal surfaces with exact defect masks and boxes."""
from agssp.demo.dataset import DEFECT_CLASSES, generate_demo_dataset
from agssp.demo.defects import DEFECT_PAINTERS
from agssp.demo.surfaces import SURFACE_KINDS, render_surface

__all__ = ['DEFECT_CLASSES', 'DEFECT_PAINTERS', 'SURFACE_KINDS', 'generate_demo_dataset',
           'render_surface']
