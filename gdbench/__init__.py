"""gdbench: reproducibility suite for Gate Decorator global filter pruning (You et al., NeurIPS 2019).

The API (`gdbench.prune`, `count_flops`, `decorate`, ...) loads torch on first use, so that
`import gdbench.config` (the Snakefile's validation, `gdbench --help`) stays torch-free."""

from importlib import import_module

__all__ = ["GatedBatchNorm2d", "GatedConv2d", "count_flops", "decorate", "prune", "undecorate"]
__version__ = "0.1.0"

_API = {
    "count_flops": "gdbench.flops",
    "GatedBatchNorm2d": "gdbench.gates",
    "GatedConv2d": "gdbench.gates",
    "decorate": "gdbench.gates",
    "undecorate": "gdbench.gates",
    "prune": "gdbench.pruning.api",
}


def __getattr__(name: str):
    if name in _API:
        return getattr(import_module(_API[name]), name)
    raise AttributeError(f"module 'gdbench' has no attribute {name!r}")
