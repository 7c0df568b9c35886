"""Multi-view wrapping that keeps the anomaly map of the first view."""
import copy

from mmpretrain.datasets.transforms import MultiView

from agssp.registry import MMPRETRAIN_TRANSFORMS, register_into


@register_into(MMPRETRAIN_TRANSFORMS)
class MultiViewWithMap(MultiView):
    """mmpretrain's ``MultiView`` that also keeps ``gt_seg_map`` as the first view moved it.

    Upstream keeps only the views' images; MoCo v3 with distillation needs the map aligned with
    the first view, whose backbone output is distilled.
    """

    def transform(self, results: dict) -> dict:
        views = [pipeline(copy.deepcopy(results)) for pipeline in self.transforms]
        results['img'] = [view['img'] for view in views]
        if results.get('gt_seg_map') is not None:
            results['gt_seg_map'] = views[0]['gt_seg_map']
        return results
