"""Model-parameter randomisation sanity check (Adebayo et al. 2018) of every method.

A compact CNN (the default ``galaxy-xai train`` architecture) is trained briefly on
real Galaxy Zoo 2 SDSS images to tell spirals from non-spirals; then the maps of the
'spiral' output from the trained network are compared with those of the same network
with all layers re-initialised (Spearman rank correlation per image, averaged). A
trustworthy method gives a correlation well below 1.

Keys: ``spearman_<method>`` per method (fully randomised network; in full mode also
``spearman_top_<method>``, only the output layer randomised, from the cascade),
``test_accuracy`` of the trained network (it must have learned something), ``n_images``.
"""

from __future__ import annotations

import numpy as np

from benchmarks._common import data_dir

IMAGE_SIZE = 48  # px


def _load(folder, n: int, label: int) -> tuple[list[np.ndarray], list[int]]:
    from PIL import Image

    images = []
    for f in sorted(folder.glob("*.jpg"))[:n]:
        with Image.open(f) as img:
            img = img.convert("RGB").crop((112, 112, 312, 312)).resize((IMAGE_SIZE, IMAGE_SIZE))
            images.append(np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / 255.0)
    return images, [label] * len(images)


def _split(part: str, n_per_class: int) -> tuple[np.ndarray, np.ndarray]:
    root = data_dir() / "gz2-kaggle-spirals" / part
    a, la = _load(root / "non_spirals", n_per_class, 0)
    b, lb = _load(root / "spirals", n_per_class, 1)
    return np.stack(a + b), np.array(la + lb)


def _train(x, y, *, epochs: int, seed: int = 0):
    import torch
    from torch import nn

    from galaxy_xai.models import build_model

    torch.manual_seed(seed)
    model = build_model("compact", in_channels=3, num_outputs=2, image_size=IMAGE_SIZE)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(xt), generator=gen)
        for start in range(0, len(xt), 32):
            idx = order[start : start + 32]
            batch = xt[idx]
            batch = torch.where(torch.rand(()) < 0.5, batch.flip(-1), batch)  # flips
            opt.zero_grad()
            nn.functional.cross_entropy(model(batch), yt[idx]).backward()
            opt.step()
    return model.eval()


def run(quick: bool) -> dict:
    import torch

    from galaxy_xai.explain import METHODS, sanity_check

    torch.set_num_threads(1)
    x_train, y_train = _split("train", 200 if quick else 700)
    x_test, y_test = _split("validation", 50 if quick else 300)
    model = _train(x_train, y_train, epochs=8 if quick else 12)
    with torch.no_grad():
        accuracy = float((model(torch.from_numpy(x_test)).argmax(1).numpy() == y_test).mean())
    rng = np.random.default_rng(0)
    n = 8 if quick else 32
    pick = rng.choice(len(x_test), size=n, replace=False)
    result = sanity_check(
        model,
        x_test[pick],
        methods=METHODS,
        target=1,  # the 'spiral' output
        mode="full" if quick else "cascading",
        n_samples=10 if quick else 50,
        n_steps=16 if quick else 50,
        window_px=6,
        stride_px=3,
    )
    figures: dict[str, float | int | str] = {}
    for method in METHODS:
        figures[f"spearman_{method}"] = result[method]["spearman"]
    if not quick:
        for method in METHODS:
            figures[f"spearman_top_{method}"] = result[method]["layers"][0]["spearman"]
    figures["test_accuracy"] = accuracy
    figures["n_images"] = n
    figures["sanity_mode"] = result[METHODS[0]]["mode"]
    return figures
