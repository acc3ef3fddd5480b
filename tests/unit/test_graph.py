"""gdbench.graph: what one traced forward pass says about where data flows (where gates go)."""

import torch
from torch import nn

from gdbench.graph import ModelTrace, example_inputs_for, flatten_outputs
from gdbench.models import build_model


class _TwoHeads(nn.Module):
    """conv -> bn -> relu, then a residual add of a second conv, then two heads: a linear on
    pooled features and a 1x1 conv followed by BN and an up-sampling transposed conv."""

    def __init__(self):
        super().__init__()
        self.stem, self.bn = nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4)
        self.branch = nn.Conv2d(4, 4, 3, padding=1)
        self.fc = nn.Linear(4, 2)
        self.score, self.score_bn = nn.Conv2d(4, 2, 1), nn.BatchNorm2d(2)
        self.up = nn.ConvTranspose2d(2, 2, 2, stride=2)

    def forward(self, x):
        x = torch.relu(self.bn(self.stem(x)))
        x = x + self.branch(x)
        return {"classes": self.fc(x.mean((2, 3))), "pixels": self.up(self.score_bn(self.score(x)))}


def test_output_layers_stop_at_the_first_conv_or_linear_on_each_path():
    model = _TwoHeads()
    trace = ModelTrace(model, torch.zeros(1, 3, 8, 8))
    # through BN and the transposed conv (channel preserving) back to the score conv; the
    # classifier head ends at fc
    assert trace.output_layers() == {model.fc, model.score}


def test_producers_walk_back_through_parameter_free_ops_only():
    model = _TwoHeads()
    trace = ModelTrace(model, torch.zeros(1, 3, 8, 8))
    # the residual sum feeds fc: its producers are the bn (through relu) and the branch conv
    assert trace.producers_of_inputs([model.fc]) == {model.bn, model.branch}
    assert trace.producers_of_inputs([model.branch]) == {model.bn}
    assert trace.producers_of_inputs([model.bn]) == {model.stem}
    assert trace.producers_of_inputs([model.stem]) == set()  # the network input


def test_trace_leaves_mode_and_requires_grad_as_they_were():
    model = _TwoHeads().train()
    model.stem.weight.requires_grad_(False)
    ModelTrace(model, torch.zeros(1, 3, 8, 8))
    assert model.training and not model.stem.weight.requires_grad and model.fc.weight.requires_grad


def test_example_inputs_follow_the_model_and_outputs_flatten():
    model = build_model("resnet20")
    assert tuple(example_inputs_for(model, None).shape) == (1, 3, 32, 32)
    given = torch.ones(2, 3, 8, 8)
    assert example_inputs_for(model, given) is given
    a, b = torch.zeros(1), torch.ones(2)
    assert flatten_outputs({"x": a, "y": (b, [a])}) == [a, b, a] and flatten_outputs(3) == []
