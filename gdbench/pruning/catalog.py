"""The names of the built-in pruning methods, importable without the pruning engine (which loads
torch-pruning, about 3 s): the Snakefile checks a config's method names with it at DAG build.
gdbench.pruning.methods builds exactly these (tests/unit/pruning/test_methods.py holds them equal)."""

# criteria that also run under Tick-Tock (`<name>_ticktock`) and compute-matched (`<name>_matched`)
TICKTOCK_CRITERIA = ("l1_norm", "network_slimming", "taylor_weights", "taylor_bn", "fpgm", "random", "depgraph")
MATCHED = ("l1_norm", "network_slimming", "fpgm", "random", "uniform_shrink", "depgraph")
BASE_METHODS = (
    "gate_decorator",
    "l1_norm",
    "network_slimming",
    "taylor_weights",
    "taylor_bn",
    "fpgm",
    "random",
    "uniform_shrink",
    "depgraph",
    "gd_one_shot",
    "gd_no_sparsity",
    "gd_group_mean",
    "gd_tick_subset",
)
METHOD_NAMES = (
    *BASE_METHODS,
    *(f"{name}_ticktock" for name in TICKTOCK_CRITERIA),
    *(f"{name}_matched" for name in MATCHED),
)


def plugin_methods(criteria: dict | None) -> tuple[str, ...]:
    """The methods a run config's criterion plug-ins add: each one-shot and under Tick-Tock."""
    return tuple(m for name in (criteria or {}) for m in (name, f"{name}_ticktock"))
