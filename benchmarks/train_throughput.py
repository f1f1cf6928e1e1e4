"""train-throughput: galaxy-xai's Lightning training step vs a plain PyTorch loop.

Same model (the compact CPU default), same batches, same optimiser, same data in
memory; augmentation off on both sides so only the framework differs. Images/s are
taken over whole training epochs after one warm-up epoch (median of the rest).
Inference images/s is :func:`galaxy_xai.train.predict` over a dataset file (HDF5
reads included).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch


def _data(n: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 1, size, size, generator=g)
    y = torch.randint(0, 3, (n,), generator=g)
    return x, y


def run(quick: bool) -> dict:
    import lightning as L
    from lightning.pytorch.callbacks import Callback

    from galaxy_xai.data.store import write_dataset
    from galaxy_xai.models import build_head, build_model
    from galaxy_xai.train import TrainerConfig, load_trained, predict
    from galaxy_xai.train.config import OptimConfig, TrainConfig
    from galaxy_xai.train.datamodule import EpochShuffleSampler
    from galaxy_xai.train.io import save_trained
    from galaxy_xai.train.lightning_module import GalaxyLitModule
    from galaxy_xai.train.trainer import make_trainer

    torch.set_num_threads(1)
    n, size, batch, epochs = (1024, 64, 64, 3) if quick else (4096, 64, 64, 5)
    x, y = _data(n, size)
    dataset = torch.utils.data.TensorDataset(x, y)

    def loader() -> torch.utils.data.DataLoader:
        return torch.utils.data.DataLoader(
            dataset, batch_size=batch, sampler=EpochShuffleSampler(n, 0),
            generator=torch.Generator().manual_seed(0),
        )  # fmt: skip

    def model() -> torch.nn.Module:
        torch.manual_seed(0)
        return build_model("compact", in_channels=1, num_outputs=3, image_size=size)

    # plain PyTorch loop
    net, head = model(), build_head("classification", 3)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    plain = []
    for epoch in range(epochs):
        dl = loader()
        dl.sampler.set_epoch(epoch)
        net.train()
        t0 = time.perf_counter()
        for xb, yb in dl:
            opt.zero_grad(set_to_none=True)
            loss = head.loss(net(xb), yb)
            loss.backward()
            opt.step()
        plain.append(time.perf_counter() - t0)

    # galaxy-xai: the same step through GalaxyLitModule and the trainer factory
    class EpochTimer(Callback):
        def __init__(self) -> None:
            self.times: list[float] = []

        def on_train_epoch_start(self, trainer, pl_module) -> None:
            self.t0 = time.perf_counter()

        def on_train_epoch_end(self, trainer, pl_module) -> None:
            self.times.append(time.perf_counter() - self.t0)

    timer = EpochTimer()
    lit = GalaxyLitModule(model(), build_head("classification", 3),
                          optim=OptimConfig(schedule="none"), augment=None, max_epochs=epochs)  # fmt: skip
    lit.has_val = False
    with tempfile.TemporaryDirectory() as tmp:
        L.seed_everything(0, verbose=False)
        trainer = make_trainer(
            TrainerConfig(max_epochs=epochs, batch_size=batch, patience=0, accelerator="cpu"),
            Path(tmp), monitor="train_loss", callbacks=[timer],
        )  # fmt: skip
        trainer.fit(lit, train_dataloaders=loader())

        # inference through predict() on a dataset file
        m = lit.model.cpu().eval()
        n_inf = 2048 if quick else 8192
        xi, _ = _data(n_inf, size)
        path = write_dataset(Path(tmp) / "inf.h5", xi.numpy(),
                             pd.DataFrame({"id": [f"g{i}" for i in range(n_inf)]}))  # fmt: skip
        save_trained(Path(tmp), m, build_head("classification", 3),
                     output_names=["a", "b", "c"], config=TrainConfig())  # fmt: skip
        trained = load_trained(Path(tmp))
        predict(trained, path, batch_size=256, indices=np.arange(256))  # warm-up
        t0 = time.perf_counter()
        predict(trained, path, batch_size=256, device="cpu")
        inference = n_inf / (time.perf_counter() - t0)

    plain_ips = n / statistics.median(plain[1:])
    ours_ips = n / statistics.median(timer.times[1:])
    return {
        "plain_loop_images_per_s": round(plain_ips, 1),
        "galaxy_xai_images_per_s": round(ours_ips, 1),
        "ratio_vs_plain_loop": round(ours_ips / plain_ips, 3),
        "inference_images_per_s": round(inference, 1),
        "image_size": size,
        "batch_size": batch,
        "torch_threads": torch.get_num_threads(),
    }
