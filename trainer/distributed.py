"""Training on several processes: `accelerate launch --num_processes N` (or torchrun) starts N copies of the same
command; DDP averages their gradients (gloo on CPU, NCCL on GPUs).

The split keeps one process's math. Every process builds the same batches from the same seed and takes every
N-th prompt of each (`share`); it scales its summed pair loss by N / (pairs in the whole batch), so DDP's mean
over N processes is exactly the gradient of the one-process mean loss. Only dropout masks differ. A process left
without a prompt in a short last batch borrows the first one with weight 0: DDP needs every process to step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TypeVar

import torch

from trainer.backbone import pick_device

T = TypeVar("T")


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world: int = 1
    device: str = "cpu"

    @property
    def main(self) -> bool:
        return self.rank == 0

    def share(self, batch: list[T]) -> tuple[list[T], float]:
        """This process's prompts of a batch and the weight of its loss (0 for a borrowed prompt)."""
        mine = batch[self.rank::self.world]
        return (mine, 1.0) if mine else (batch[:1], 0.0)

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        if self.world == 1:
            return model
        device_ids = [torch.device(self.device).index] if self.device.startswith("cuda") else None
        return torch.nn.parallel.DistributedDataParallel(model, device_ids=device_ids)

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()


def launched_ranks(device: str | None = None) -> Ranks:
    """One process unless started by a distributed launcher (WORLD_SIZE > 1); then accelerate sets up the
    process group and picks this process's device."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return Ranks(device=pick_device(device))
    from accelerate import PartialState

    state = PartialState(cpu=pick_device(device) == "cpu")  # without it, CPU-only processes would not join
    device_name = "cpu" if state.device.type == "cpu" else str(state.device)  # "cpu:0" would skip determinism
    return Ranks(state.process_index, state.num_processes, device_name)
