"""The names of the built-in models, datasets and pruning methods, importable without torch (about
3 s) or the pruning engine (torch-pruning, 3 s more): the Snakefile checks a config's names with
them at DAG build (gdbench.run_config). The registries build exactly these (gdbench.models,
gdbench.data.registry, gdbench.pruning.methods; tests/unit/test_config.py holds them equal)."""

MODEL_NAMES = (
    "resnet20",
    "resnet32",
    "resnet56",
    "resnet110",
    "vgg16m",
    "vgg6",
    "resnet14",
    "resnet50",
    "fcn8s_vgg16",
    "fcn32s_vgg16",
    "unet_resnet18",
)
# models that predict a class per pixel (the others one per image)
SEGMENTATION_MODELS = frozenset({"fcn8s_vgg16", "fcn32s_vgg16", "unet_resnet18"})
CLASSIFICATION, SEGMENTATION = "classification", "segmentation"
DATASET_TASKS = {
    "digits": CLASSIFICATION,
    "cifar10": CLASSIFICATION,
    "cifar100": CLASSIFICATION,
    "cub200": CLASSIFICATION,
    "imagenet": CLASSIFICATION,
    "voc": SEGMENTATION,
    "voc_seg11valid": SEGMENTATION,
}

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


# ImageNet backbone weights the `fetch_weights` rule may download: file name -> torchvision's
# weights enum, whose URL ends in that name (tests/unit/test_pretrained.py holds them equal). The
# name's last part is the file's sha256 prefix, torchvision's convention, checked on download.
TORCHVISION_WEIGHTS = {
    "vgg16_bn-6c64b313.pth": "VGG16_BN_Weights.IMAGENET1K_V1",
    "vgg16-397923af.pth": "VGG16_Weights.IMAGENET1K_V1",
    "resnet50-0676ba61.pth": "ResNet50_Weights.IMAGENET1K_V1",
    "resnet50-11ad3fa6.pth": "ResNet50_Weights.IMAGENET1K_V2",
}
