"""The README's API example (tests/unit/pruning/test_api.py keeps the two identical)."""

import torch
import torchvision
from torch.utils.data import DataLoader, TensorDataset

import gdbench

model = torchvision.models.resnet18(num_classes=10)
data = TensorDataset(torch.randn(256, 3, 32, 32), torch.randint(0, 10, (256,)))
loader = DataLoader(data, batch_size=64, shuffle=True)

pruned = gdbench.prune(
    model,
    loader,
    target_flops_ratio=0.5,
    finetune_epochs=1,
)
before, after = gdbench.count_flops(model, (3, 32, 32)), gdbench.count_flops(pruned, (3, 32, 32))
print(f"FLOPs {before.flops / 1e6:.1f} M -> {after.flops / 1e6:.1f} M, params {before.params} -> {after.params}")
