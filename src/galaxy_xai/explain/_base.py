"""Shared plumbing of the attribution methods: models, images, seeds, modes.

Every method sees the model through :func:`prepare_model` (a plain ``nn.Module`` or a
``LoadedModel`` from :func:`galaxy_xai.models.load_model`, or the ``TrainedModel`` of
:func:`galaxy_xai.train.load_trained`), the images through
:func:`as_images` (``(N, C, H, W)`` float32 tensor, finite, fitting the model), and runs
inside :func:`analysis_mode` (eval mode, parameters frozen, optional shared Monte Carlo
dropout masks), so that no method changes the model it was given.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from galaxy_xai.errors import DataFormatError, ModelMismatchError, ParameterError

__all__ = [
    "Prepared",
    "analysis_mode",
    "as_images",
    "derive_seed",
    "prepare_model",
]

log = logging.getLogger(__name__)

_DROPOUT_TYPES = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout)


class _As2D(nn.Module):
    """Wrap a model so that its output is always ``(N, K)`` (a 1-D output becomes K=1)."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.inner(x)
        if isinstance(out, tuple | list):
            out = out[0]
        if out.ndim == 1:
            out = out[:, None]
        return out.reshape(out.shape[0], -1)


@dataclass
class Prepared:
    """A model ready for attribution.

    Attributes
    ----------
    module
        The user's network (unchanged).
    forward
        ``module`` wrapped to return ``(N, K)`` outputs.
    output_names
        Output names (class names or Galaxy Zoo answers), or None.
    input_shape
        ``(C, H, W)`` the model expects, when known.
    task
        ``"classification"``, ``"vote_fraction"``, ``"regression"`` or None.
    import_hint
        How to import data to fit the model (from a shipped model's card), or ''.
    """

    module: nn.Module
    forward: nn.Module
    output_names: list[str] | None
    input_shape: tuple[int, ...] | None
    task: str | None
    import_hint: str = ""


def prepare_model(model: Any, *, output_names: Sequence[str] | None = None) -> Prepared:
    """Accept an ``nn.Module`` or a trained model (``.model``, ``.output_names``).

    A trained model is a ``LoadedModel`` from :func:`galaxy_xai.models.load_model` (or
    a ``TrainedModel`` from :func:`galaxy_xai.train.load_trained`, its subclass).

    Raises
    ------
    ParameterError
        If ``model`` is neither.
    """
    if isinstance(model, Prepared):
        if output_names is not None:
            model.output_names = list(output_names)
        return model
    task = None
    input_shape = None
    hint = ""
    if isinstance(model, nn.Module):
        module = model
        names = getattr(model, "output_names", None)
    elif isinstance(getattr(model, "model", None), nn.Module):
        module = model.model
        names = getattr(model, "output_names", None)
        task = getattr(model, "task", None)
        input_shape = getattr(model, "input_shape", None)
        hint_of = getattr(model, "import_hint", None)
        hint = hint_of() if callable(hint_of) else ""
    else:
        raise ParameterError(
            "model",
            type(model).__name__,
            "must be a torch nn.Module or a trained model from galaxy_xai.models.load_model",
        )
    if input_shape is None:
        input_shape = getattr(module, "input_shape", None)
    if output_names is not None:
        names = output_names
    return Prepared(
        module=module,
        forward=_As2D(module),
        output_names=list(names) if names is not None else None,
        input_shape=tuple(int(s) for s in input_shape) if input_shape is not None else None,
        task=task,
        import_hint=hint,
    )


def as_images(
    images: Any,
    prepared: Prepared | None = None,
    *,
    ids: Sequence[str] | None = None,
    name: str = "images",
) -> torch.Tensor:
    """Return ``images`` as a finite ``(N, C, H, W)`` float32 CPU-or-model-device tensor.

    Raises
    ------
    ParameterError
        If the array is not 4-D or is empty.
    DataFormatError
        If an image holds NaN or infinite pixels (names its index or id).
    ModelMismatchError
        If the image shape does not fit the model.
    """
    x = images if isinstance(images, torch.Tensor) else torch.as_tensor(np.asarray(images))
    if x.ndim != 4:
        raise ParameterError(name, tuple(x.shape), "must be a batch of images shaped (N, C, H, W)")
    if x.shape[0] == 0:
        raise ParameterError(name, tuple(x.shape), "holds no images")
    x = x.detach().to(torch.float32)
    finite = torch.isfinite(x.reshape(len(x), -1)).all(1)
    if not bool(finite.all()):
        bad = int(torch.nonzero(~finite)[0, 0])
        where = f"id {ids[bad]!r}" if ids is not None else f"index {bad}"
        raise DataFormatError(f"{name}: image {where} has NaN or infinite pixels")
    if prepared is not None:
        device = _model_device(prepared.module)
        x = x.to(device)
        check_fits(prepared, tuple(x.shape[1:]))
    return x.contiguous()


def _model_device(module: nn.Module) -> torch.device:
    for p in module.parameters():
        return p.device
    return torch.device("cpu")


def check_fits(prepared: Prepared, shape: tuple[int, ...]) -> None:
    """Raise :class:`ModelMismatchError` if images of ``shape`` (C, H, W) do not fit.

    Raises
    ------
    ModelMismatchError
        If ``shape`` differs from the model's recorded input shape, its channel count
        differs from the first convolution's, or a forward pass on such an image fails.
    """
    if prepared.input_shape is not None:
        if tuple(shape) != tuple(prepared.input_shape):
            raise ModelMismatchError(
                f"images of shape (C, H, W) = {tuple(shape)} do not fit the model, which "
                f"expects {tuple(prepared.input_shape)}; "
                + (prepared.import_hint.lstrip("; ") or "resize the data or use another model")
            )
        return
    first_conv = next((m for m in prepared.module.modules() if isinstance(m, nn.Conv2d)), None)
    if first_conv is not None and first_conv.in_channels != shape[0]:
        raise ModelMismatchError(
            f"images have {shape[0]} channel(s) but the model's first convolution expects "
            f"{first_conv.in_channels}"
        )
    probe = torch.zeros((1, *shape), device=_model_device(prepared.module))
    with analysis_mode(prepared.module), torch.no_grad():
        try:
            prepared.forward(probe)
        except RuntimeError as exc:
            raise ModelMismatchError(
                f"images of shape (C, H, W) = {tuple(shape)} do not fit the model: {exc}"
            ) from None


def derive_seed(*keys: int) -> int:
    """A 63-bit seed from integers (seed, item key, stream) via numpy's SeedSequence."""
    state = np.random.SeedSequence([int(k) & 0xFFFFFFFFFFFFFFFF for k in keys])
    return int(state.generate_state(2, np.uint64)[0] >> np.uint64(1))


class _SharedDropoutMasks:
    """Forward hooks that apply one dropout mask per image (Monte Carlo dropout).

    Every row of a batch that belongs to the same image (its *key*) gets the same mask,
    drawn from ``derive_seed(seed, key, 1 + layer)``. A SmoothGrad map is then the map
    of one network drawn from the approximate posterior (Gal & Ghahramani 2016), the
    noise samples all see the same network, and results do not depend on batching.
    """

    def __init__(self, module: nn.Module, seed: int) -> None:
        self.seed = int(seed)
        self.row_keys: torch.Tensor | int | None = None
        self._masks: dict[tuple[int, int], torch.Tensor] = {}
        self._handles = []
        self.n_layers = 0
        for layer, sub in enumerate(m for m in module.modules() if isinstance(m, _DROPOUT_TYPES)):
            self._handles.append(sub.register_forward_hook(self._hook(layer, sub)))
            self.n_layers += 1

    def _hook(
        self,
        layer: int,
        sub: nn.Dropout | nn.Dropout1d | nn.Dropout2d | nn.Dropout3d | nn.AlphaDropout,
    ) -> Any:
        p = float(sub.p)
        channelwise = not (type(sub) is nn.Dropout or isinstance(sub, nn.AlphaDropout))

        def hook(_module: nn.Module, _inputs: Any, out: torch.Tensor) -> torch.Tensor:
            if self.row_keys is None or p == 0.0:
                return out
            if isinstance(self.row_keys, int):
                keys = [self.row_keys] * out.shape[0]
            else:
                keys = self.row_keys.tolist()
            feature_shape: tuple[int, ...] = out.shape[1:]
            if channelwise and out.ndim > 2:
                feature_shape = (out.shape[1],) + (1,) * (out.ndim - 2)
            masks = []
            cache: dict[int, torch.Tensor] = {}
            for key in keys:
                if key not in cache:
                    cache[key] = self._mask(layer, key, tuple(feature_shape), p, out)
                masks.append(cache[key])
            return out * torch.stack(masks)

        return hook

    def _mask(
        self, layer: int, key: int, shape: tuple[int, ...], p: float, like: torch.Tensor
    ) -> torch.Tensor:
        cache_key = (layer, key)
        mask = self._masks.get(cache_key)
        if mask is None or tuple(mask.shape) != shape:
            gen = torch.Generator().manual_seed(derive_seed(self.seed, key, 1 + layer))
            keep = torch.rand(shape, generator=gen) >= p
            mask = keep.to(like.dtype) / (1.0 - p) if p < 1.0 else torch.zeros(shape)
            mask = mask.to(like.device)
            self._masks[cache_key] = mask
        return mask

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()


@contextlib.contextmanager
def analysis_mode(
    module: nn.Module, *, mc_dropout: bool = False, seed: int = 0
) -> Iterator[_SharedDropoutMasks | None]:
    """Eval mode with frozen parameters; restore the model's state afterwards.

    Parameters
    ----------
    module
        The network; its ``training`` flags and ``requires_grad`` are restored on exit.
    mc_dropout
        Apply Monte Carlo dropout: one mask per image shared by all its noise samples
        (see :class:`_SharedDropoutMasks`); BatchNorm stays in eval mode.
    seed
        Seed of the dropout masks.

    Yields
    ------
    The mask hooks (set ``.row_keys`` before each forward pass) or None.

    Raises
    ------
    ParameterError
        If ``mc_dropout`` is asked of a model without dropout layers.
    """
    modes = {m: m.training for m in module.modules()}
    grads = {p: p.requires_grad for p in module.parameters()}
    masks = None
    try:
        module.eval()
        for p in grads:
            p.requires_grad_(False)
        if mc_dropout:
            masks = _SharedDropoutMasks(module, seed)
            if masks.n_layers == 0:
                raise ParameterError(
                    "mc_dropout", True, "the model has no dropout layers (nn.Dropout*)"
                )
        yield masks
    finally:
        if masks is not None:
            masks.remove()
        for m, mode in modes.items():
            m.train(mode)
        for p, flag in grads.items():
            p.requires_grad_(flag)


def reduce_channels(attr: torch.Tensor, *, keep_channels: bool) -> np.ndarray:
    """Sum ``(N, C, H, W)`` attributions over channels unless ``keep_channels``."""
    out = attr if keep_channels else attr.sum(1)
    return out.detach().to("cpu", torch.float32).numpy()


def check_positive_int(name: str, value: Any) -> int:
    """Return ``value`` as int, or raise :class:`ParameterError` if it is not >= 1.

    Raises
    ------
    ParameterError
        If ``value`` is not an integer (a bool is refused) or is < 1.
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ParameterError(name, value, "must be a positive integer")
    return int(value)
