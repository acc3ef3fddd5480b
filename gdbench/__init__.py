"""gdbench: reproducibility suite for Gate Decorator global filter pruning (You et al., NeurIPS 2019)."""

from gdbench.flops import count_flops
from gdbench.gates import GatedBatchNorm2d, GatedConv2d, decorate, undecorate

__all__ = ["GatedBatchNorm2d", "GatedConv2d", "count_flops", "decorate", "prune", "undecorate"]
__version__ = "0.1.0"


def prune(*args, **kwargs):
    """Gate Decorator pruning of a torchvision-style CNN; see gdbench.pruning.api.prune."""
    from gdbench.pruning.api import prune as _prune

    return _prune(*args, **kwargs)
