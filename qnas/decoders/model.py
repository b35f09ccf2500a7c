"""The torch networks that map a shot's detector events to logits of its observable flips.

Two architectures share one config:
- `conv`: lattice-aware. Detector events are scattered into a (time, x, y) grid built from Stim's
  detector coordinates, then 3D convolutions look at neighbouring stabilizers across rounds
  before a dense head. The convolution weights do not grow with the code, which is what a
  decoder for larger distances needs.
- `mlp`: a dense network on the flat detector vector; small and fast at distance 3.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from qnas.decoders.sampling import DecoderError, DetectorGrid
from qnas.errors import not_allowed

ARCHITECTURES = ("conv", "mlp")


@dataclass(frozen=True)
class NetworkConfig:
    """Architecture hyperparameters: `depth` hidden layers of `width` units (mlp), or `depth` conv
    layers of `channels` channels followed by one dense layer of `width` units (conv)."""

    arch: str = "mlp"
    width: int = 512
    depth: int = 3
    channels: int = 32

    def __post_init__(self) -> None:
        if self.arch not in ARCHITECTURES:
            raise DecoderError(not_allowed("arch", self.arch, ARCHITECTURES))
        for name in ("width", "depth", "channels"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise DecoderError(f"{name} = {value!r} is not allowed: use a positive integer.")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class MLPDecoder(nn.Module):
    def __init__(self, num_detectors: int, num_observables: int, config: NetworkConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        size = num_detectors
        for _ in range(config.depth):
            layers += [nn.Linear(size, config.width), nn.ReLU()]
            size = config.width
        layers.append(nn.Linear(size, num_observables))
        self.net = nn.Sequential(*layers)

    def forward(self, detectors: torch.Tensor) -> torch.Tensor:
        return self.net(detectors)


class ConvDecoder(nn.Module):
    """3D convolutions over the (time, x, y) detector grid; a second input channel marks the cells
    that hold a detector, so the network can tell 'no event' from 'no stabilizer here'."""

    def __init__(self, grid: DetectorGrid, num_observables: int, config: NetworkConfig) -> None:
        super().__init__()
        self.grid_shape = grid.shape
        self.register_buffer("cells", torch.tensor(grid.cells, dtype=torch.long), persistent=False)
        occupied = torch.zeros(grid.shape).flatten()
        occupied[list(grid.cells)] = 1.0
        self.register_buffer("occupied", occupied.view(1, 1, *grid.shape), persistent=False)
        convs: list[nn.Module] = []
        in_channels = 2
        for _ in range(config.depth):
            convs += [nn.Conv3d(in_channels, config.channels, kernel_size=3, padding=1), nn.ReLU()]
            in_channels = config.channels
        self.convs = nn.Sequential(*convs)
        cells = grid.shape[0] * grid.shape[1] * grid.shape[2]
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(config.channels * cells, config.width), nn.ReLU(), nn.Linear(config.width, num_observables)
        )

    def forward(self, detectors: torch.Tensor) -> torch.Tensor:
        batch = detectors.shape[0]
        grid = detectors.new_zeros(batch, self.occupied[0, 0].numel())
        grid[:, self.cells] = detectors
        grid = grid.view(batch, 1, *self.grid_shape)
        return self.head(self.convs(torch.cat([grid, self.occupied.expand(batch, -1, -1, -1, -1)], dim=1)))


def build_network(config: NetworkConfig, grid: DetectorGrid, num_observables: int) -> nn.Module:
    if config.arch == "conv":
        return ConvDecoder(grid, num_observables, config)
    return MLPDecoder(len(grid.cells), num_observables, config)
