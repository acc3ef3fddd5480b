import torch

from gdbench.data.augment import random_crop_flip


def _reference(image, offset_y, offset_x, flip, padding=4):
    """One sample, the obvious way."""
    padded = torch.nn.functional.pad(image, (padding,) * 4)
    crop = padded[:, offset_y : offset_y + image.shape[1], offset_x : offset_x + image.shape[2]]
    return crop.flip(2) if flip else crop


def test_every_sample_gets_its_own_crop_and_flip():
    image = torch.arange(3 * 32 * 32, dtype=torch.float32).reshape(1, 3, 32, 32)
    batch = image.repeat(64, 1, 1, 1)
    out = random_crop_flip(batch, generator=torch.Generator().manual_seed(0))
    distinct = {tuple(sample.flatten()[:40].tolist()) for sample in out}
    assert len(distinct) > 20  # 81 shifts × 2 flips: identical inputs come out different


def test_each_output_is_a_shifted_possibly_flipped_crop_of_its_input():
    generator = torch.Generator().manual_seed(1)
    batch = torch.randint(0, 255, (16, 3, 32, 32), dtype=torch.uint8)
    out = random_crop_flip(batch, generator=generator)
    assert out.dtype == torch.uint8 and out.shape == batch.shape
    for sample, result in zip(batch, out):
        matches = [
            (y, x, f)
            for y in range(9)
            for x in range(9)
            for f in (False, True)
            if torch.equal(_reference(sample, y, x, f), result)
        ]
        assert matches, "output is not a crop/flip of its own input"
