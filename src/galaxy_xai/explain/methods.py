"""The registry of attribution methods: each method declared once, the rest derived.

A method is a :class:`MethodSpec`: its name, the function that computes it, its own
options (a frozen dataclass), whether its maps take absolute values by default, how
many channels its maps have, and whether the trust checks run it by default. Declare
one with a helper and :func:`register_method`; everything else reads the registry:
:func:`~galaxy_xai.explain.attribute` (its per-method options and post-processing),
:data:`METHODS` and :data:`DEFAULT_ABS`, the ``--method`` choices and method option
flags of ``galaxy-xai explain``, the default methods of
:func:`~galaxy_xai.explain.sanity_check`, :func:`~galaxy_xai.explain.faithfulness` and
``explain --check``, and the map shape of :func:`~galaxy_xai.explain.explain_dataset`.

Three helpers declare a method, as captum builds its methods:

* :func:`row_method`: a function of a chunk of rows whose output row ``i`` depends only
  on input row ``i`` (one forward/backward pass, like the input gradient). It is
  streamed in chunks of ``batch_size`` rows, with one Monte Carlo dropout mask per
  image, and a noise tunnel over it streams the noisy copies the same way.
* :func:`batch_method`: any function of a batch of images (a captum method with its
  own batching); under Monte Carlo dropout it runs one image at a time.
* :func:`noise_tunnel`: SmoothGrad, SmoothGrad-squared or VarGrad over any method that
  is not itself a noise tunnel (captum's ``NoiseTunnel(method)``). ``smoothgrad`` is
  ``noise_tunnel(GRADIENT, "smoothgrad")``.

Adding a method is one declaration here (plus its implementation, here or in its own
module) and its test, e.g.::

    @dataclass(frozen=True)
    class DeepLiftOptions:
        baseline: Any = 0.0  # reference image: a number or an array like the images

    def _deeplift(call, x, targets, options):
        return DeepLift(call.prepared.forward).attribute(
            x, baselines=options.baseline, target=targets.tolist())

    register_method(batch_method("deeplift", _deeplift, options=DeepLiftOptions,
                                 default_abs=False, summary="DeepLIFT (Shrikumar 2017)"))

An option field whose ``metadata`` holds ``{"cli": "count" | "str", "help": ...}`` also
becomes a ``galaxy-xai explain --<field-name>`` flag.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import torch
from torch import nn

from galaxy_xai.errors import ParameterError
from galaxy_xai.explain._base import Prepared, check_positive_int
from galaxy_xai.explain.gradcam import gradcam
from galaxy_xai.explain.gradients import NT_TYPES, input_gradients, noisy_attributions
from galaxy_xai.explain.integrated import integrated_gradients
from galaxy_xai.explain.occlusion import occlusion

__all__ = [
    "DEFAULT_ABS",
    "METHODS",
    "METHOD_SPECS",
    "Call",
    "GradCamOptions",
    "IntegratedGradientsOptions",
    "MethodSpec",
    "NoOptions",
    "NoiseTunnelOptions",
    "OcclusionOptions",
    "batch_method",
    "check_method",
    "cli_option_fields",
    "cli_option_owners",
    "default_check_methods",
    "get_method",
    "method_options",
    "noise_tunnel",
    "register_method",
    "resolve_methods",
    "row_method",
    "unregister_method",
]

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- options
@dataclass(frozen=True)
class NoOptions:
    """Options of a method that has none of its own (``gradient``)."""


@dataclass(frozen=True)
class NoiseTunnelOptions:
    """Options of a noise tunnel (``smoothgrad``, ``smoothgrad_sq``, ``vargrad``).

    Raises
    ------
    ParameterError
        If ``noise_level`` is not a finite number >= 0 or ``n_samples`` not >= 1.
    """

    # noise sigma as a fraction of each image's range, sigma = noise_level * (max - min)
    # (Smilkov et al. 2017 suggest 0.1-0.2)
    noise_level: float = 0.15
    n_samples: int = 50  # noisy copies per image
    base: Any = None  # options of the tunnelled method; None: its defaults

    def __post_init__(self) -> None:
        level = self.noise_level
        if not (isinstance(level, int | float) and math.isfinite(level)) or level < 0:
            raise ParameterError("noise_level", level, "must be a finite number >= 0")
        object.__setattr__(self, "noise_level", float(level))
        object.__setattr__(self, "n_samples", check_positive_int("n_samples", self.n_samples))


@dataclass(frozen=True)
class IntegratedGradientsOptions:
    """Options of ``integrated_gradients``.

    Raises
    ------
    ParameterError
        If ``n_steps`` is not a positive integer.
    """

    baseline: Any = 0.0  # reference image: a number or an array like the images
    n_steps: int = field(
        default=50,  # Gauss-Legendre points of the path integral (captum's default)
        metadata={"cli": "count", "help": "Integrated Gradients steps"},
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "n_steps", check_positive_int("n_steps", self.n_steps))


@dataclass(frozen=True)
class GradCamOptions:
    """Options of ``gradcam``."""

    # layer (module or dotted name); None: the model's ``gradcam_layer`` or last Conv2d
    layer: str | nn.Module | None = field(
        default=None, metadata={"cli": "str", "help": "Grad-CAM layer (dotted module name)"}
    )


@dataclass(frozen=True)
class OcclusionOptions:
    """Options of ``occlusion`` (checked against the image size when it runs)."""

    # window side and stride (px); None: 1/8 of the image and half the window
    window_px: int | None = field(
        default=None, metadata={"cli": "count", "help": "occlusion window (px)"}
    )
    stride_px: int | None = field(
        default=None, metadata={"cli": "count", "help": "occlusion stride (px)"}
    )
    baseline: Any = 0.0  # value of the occluded pixels: a number or an array


# --------------------------------------------------------------------------- specs
@dataclass(frozen=True)
class Call:
    """What :func:`~galaxy_xai.explain.attribute` resolved, for a method's function.

    Attributes
    ----------
    prepared
        The model (:func:`~galaxy_xai.explain._base.prepare_model`).
    batch_size
        Most model inputs per pass.
    seed
        Seed of any randomness of the method (the noise of a noise tunnel).
    abs_value
        Whether the maps take absolute values (for methods that apply it per sample).
    keys
        ``(N,)`` integer key per image, seeding its noise.
    masks
        Monte Carlo dropout hooks, or None.
    """

    prepared: Prepared
    batch_size: int
    seed: int
    abs_value: bool
    keys: torch.Tensor
    masks: Any = None


#: ``run(call, x, targets, options) -> (N, C', H, W)`` attributions of the images.
RunFunction = Callable[[Call, torch.Tensor, torch.Tensor, Any], torch.Tensor]
#: ``rows(prepared, rows, targets, options) -> (B, C', H, W)``, row i from input row i.
RowFunction = Callable[[Prepared, torch.Tensor, torch.Tensor, Any], torch.Tensor]


@dataclass(frozen=True)
class MethodSpec:
    """One attribution method. Build it with :func:`row_method`, :func:`batch_method`
    or :func:`noise_tunnel` and add it with :func:`register_method`.

    Attributes
    ----------
    name
        The name ``attribute(method=...)`` and ``--method`` take.
    run
        ``run(call, x, targets, options)``: ``(N, C', H, W)`` attributions.
    options
        The frozen dataclass of the method's own options (its defaults are the method's).
    default_abs
        Absolute values by default: magnitudes for gradient maps (Simonyan et al. 2014;
        captum's Saliency), signed where the sign means something (Integrated
        Gradients' completeness, occlusion's output drop); squared, variance and
        ReLU'd maps are non-negative already.
    output_channels
        Channels of the maps with ``keep_channels`` (None: those of the images).
    checked
        Part of the default methods of the sanity and faithfulness checks.
    summary
        One line for help texts.
    rows
        The per-row function of a :func:`row_method` (None otherwise).
    abs_inside
        ``run`` applies the absolute value itself (to each noisy sample), so
        :func:`~galaxy_xai.explain.attribute` must not apply it afterwards.
    handles_dropout
        ``run`` sets the Monte Carlo dropout row keys itself; otherwise it is called
        one image at a time, each with its own dropout mask.
    base
        The tunnelled method of a :func:`noise_tunnel` (None otherwise).
    """

    name: str
    run: RunFunction
    options: type = NoOptions
    default_abs: bool = False
    output_channels: int | None = None
    checked: bool = False
    summary: str = ""
    rows: RowFunction | None = None
    abs_inside: bool = False
    handles_dropout: bool = False
    base: MethodSpec | None = None


def row_method(
    name: str,
    rows: RowFunction,
    *,
    options: type = NoOptions,
    default_abs: bool = False,
    output_channels: int | None = None,
    checked: bool = False,
    summary: str = "",
) -> MethodSpec:
    """A method computed per row: one call of ``rows`` per chunk of ``batch_size`` rows.

    ``rows(prepared, rows, targets, options)`` must give output row ``i`` from input row
    ``i`` alone (one forward pass over the chunk), as the input gradient does; the
    chunks are then free to mix images, and Monte Carlo dropout keeps one mask per image.
    """

    def run(call: Call, x: torch.Tensor, targets: torch.Tensor, opts: Any) -> torch.Tensor:
        return noisy_attributions(
            x,
            targets,
            rows_fn=lambda r, t, _keys: rows(call.prepared, r, t, opts),
            nt_type="smoothgrad",
            noise_level=0.0,
            n_samples=1,
            batch_size=call.batch_size,
            seed=call.seed,
            abs_value=call.abs_value,
            keys=call.keys,
            masks=call.masks,
        )

    return MethodSpec(
        name=name,
        run=run,
        options=options,
        default_abs=default_abs,
        output_channels=output_channels,
        checked=checked,
        summary=summary,
        rows=rows,
        abs_inside=True,
        handles_dropout=True,
    )


def batch_method(
    name: str,
    run: RunFunction,
    *,
    options: type = NoOptions,
    default_abs: bool = False,
    output_channels: int | None = None,
    checked: bool = False,
    summary: str = "",
) -> MethodSpec:
    """A method computed on a batch of images by ``run(call, x, targets, options)``."""
    return MethodSpec(
        name=name,
        run=run,
        options=options,
        default_abs=default_abs,
        output_channels=output_channels,
        checked=checked,
        summary=summary,
    )


def noise_tunnel(
    base: MethodSpec,
    nt_type: str,
    *,
    name: str,
    default_abs: bool = False,
    checked: bool = False,
    summary: str = "",
) -> MethodSpec:
    """SmoothGrad-style noise over ``base``, as captum's ``NoiseTunnel(base)``.

    The map is the mean (``"smoothgrad"``), mean square (``"smoothgrad_sq"``) or
    variance (``"vargrad"``) of ``base``'s maps of ``n_samples`` noisy copies of each
    image (:class:`NoiseTunnelOptions`; ``options.base`` holds ``base``'s options). The
    absolute value, if asked, applies to each noisy map for ``"smoothgrad"`` (as
    captum's ``Saliency(abs=True)`` inside ``NoiseTunnel``) and to the result otherwise.
    A per-row ``base`` streams the noisy copies of all images in chunks; any other runs
    on chunks of at most ``batch_size`` noisy copies (an array baseline must then
    broadcast to a chunk).

    Raises
    ------
    ParameterError
        If ``nt_type`` is unknown or ``base`` is a noise tunnel itself.
    """
    if nt_type not in NT_TYPES:
        raise ParameterError("nt_type", nt_type, f"must be one of {', '.join(NT_TYPES)}")
    if base.base is not None:
        raise ParameterError("base", base.name, "is a noise tunnel already")
    per_row = base.rows

    def run(call: Call, x: torch.Tensor, targets: torch.Tensor, opts: Any) -> torch.Tensor:
        base_options = opts.base if opts.base is not None else base.options()

        def rows_fn(r: torch.Tensor, t: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
            if per_row is not None:
                return per_row(call.prepared, r, t, base_options)
            inner = dataclasses.replace(call, keys=keys, masks=None, abs_value=False)
            return base.run(inner, r, t, base_options)

        return noisy_attributions(
            x,
            targets,
            rows_fn=rows_fn,
            nt_type=nt_type,
            noise_level=opts.noise_level,
            n_samples=opts.n_samples,
            batch_size=call.batch_size,
            seed=call.seed,
            abs_value=call.abs_value,
            keys=call.keys,
            masks=call.masks if per_row is not None else None,
        )

    return MethodSpec(
        name=name,
        run=run,
        options=NoiseTunnelOptions,
        default_abs=default_abs,
        output_channels=base.output_channels,
        checked=checked,
        summary=summary,
        abs_inside=nt_type == "smoothgrad",
        handles_dropout=per_row is not None,
        base=base,
    )


# --------------------------------------------------------------------------- registry
_REGISTRY: dict[str, MethodSpec] = {}

#: Every registered method by name, in registration order (read-only, live).
METHOD_SPECS: Mapping[str, MethodSpec] = MappingProxyType(_REGISTRY)


def register_method(spec: MethodSpec, *, replace: bool = False) -> MethodSpec:
    """Add ``spec`` to the registry and return it.

    Raises
    ------
    ParameterError
        If a method of that name exists (and not ``replace``), or the options are not
        a dataclass.
    """
    if not spec.name or not isinstance(spec.name, str):
        raise ParameterError("name", spec.name, "must be a non-empty string")
    if spec.name in _REGISTRY and not replace:
        raise ParameterError("name", spec.name, "is registered already (use replace=True)")
    if not dataclasses.is_dataclass(spec.options):
        raise ParameterError("options", spec.options, "must be a dataclass of the options")
    _REGISTRY[spec.name] = spec
    return spec


def unregister_method(name: str) -> MethodSpec:
    """Remove a method from the registry and return its spec.

    Raises
    ------
    ParameterError
        If no method has that name.
    """
    spec = get_method(name)
    del _REGISTRY[spec.name]
    return spec


def get_method(name: str) -> MethodSpec:
    """The spec of method ``name``.

    Raises
    ------
    ParameterError
        If it is unknown (the valid names are listed).
    """
    spec = _REGISTRY.get(name) if isinstance(name, str) else None
    if spec is None:
        raise ParameterError("method", name, f"unknown; choose one of {', '.join(_REGISTRY)}")
    return spec


def check_method(method: str) -> str:
    """Return ``method`` if known, else raise :class:`ParameterError` listing the valid ones.

    Raises
    ------
    ParameterError
        If the method is unknown.
    """
    return get_method(method).name


def default_check_methods() -> tuple[str, ...]:
    """The methods the sanity and faithfulness checks run by default (``checked``)."""
    return tuple(name for name, spec in _REGISTRY.items() if spec.checked)


def resolve_methods(methods: Sequence[str] | None) -> list[str]:
    """The methods a check runs: ``methods`` checked, or :func:`default_check_methods`.

    Raises
    ------
    ParameterError
        If a method is unknown.
    """
    return [check_method(m) for m in (default_check_methods() if methods is None else methods)]


class _MethodNames(Sequence[str]):
    """The registered method names as a live, read-only tuple-like sequence."""

    def __getitem__(self, index: Any) -> Any:
        return tuple(_REGISTRY)[index]

    def __len__(self) -> int:
        return len(_REGISTRY)

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(_REGISTRY))

    def __contains__(self, value: object) -> bool:
        return value in _REGISTRY

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and tuple(self) == tuple(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(tuple(_REGISTRY))


class _DefaultAbs(Mapping[str, bool]):
    """``{method: default_abs}`` of the registered methods (live, read-only)."""

    def __getitem__(self, name: str) -> bool:
        return _REGISTRY[name].default_abs

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(_REGISTRY))

    def __len__(self) -> int:
        return len(_REGISTRY)

    def __repr__(self) -> str:
        return repr(dict(self))


#: Every attribution method by name, in the order the CLI lists them.
METHODS: Sequence[str] = _MethodNames()
#: Whether each method takes absolute values by default (:attr:`MethodSpec.default_abs`).
DEFAULT_ABS: Mapping[str, bool] = _DefaultAbs()


# --------------------------------------------------------------------------- options
def _fields(options: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(options) if f.name != "base")


def method_options(spec: MethodSpec, options: Any = None, **keywords: Any) -> Any:
    """The options of ``spec``: ``options`` (default: its defaults) with ``keywords`` set.

    A keyword that is an option of the method (or of the method a noise tunnel wraps)
    replaces that option. A keyword that is an option of another registered method
    only is checked as that method would check it and otherwise ignored, so that one
    set of options can be passed to several methods (the sanity and faithfulness
    checks do).

    Raises
    ------
    ParameterError
        ``options`` of another method's type, or a bad option value.
    TypeError
        A keyword that no registered method takes.
    """
    if options is not None and not isinstance(options, spec.options):
        raise ParameterError(
            "options", type(options).__name__, f"method {spec.name!r} takes {spec.options.__name__}"
        )
    opts: Any = spec.options() if options is None else options
    own = _fields(spec.options)
    base_own = _fields(spec.base.options) if spec.base is not None else ()
    mine = {k: v for k, v in keywords.items() if k in own}
    for_base = {k: v for k, v in keywords.items() if k in base_own and k not in own}
    for key, value in keywords.items():
        if key not in own and key not in base_own:
            _check_elsewhere(key, value)
    if for_base and spec.base is not None:
        start: Any = opts.base if opts.base is not None else spec.base.options()
        mine["base"] = dataclasses.replace(start, **for_base)
    return dataclasses.replace(opts, **mine) if mine else opts


def _check_elsewhere(key: str, value: Any) -> None:
    """Check an option of other methods as the first of them that takes it would.

    Raises
    ------
    ParameterError
        If that method rejects the value.
    TypeError
        If no registered method takes ``key``.
    """
    for spec in _REGISTRY.values():
        if key in _fields(spec.options):
            spec.options(**{key: value})
            log.debug("option %s=%r does not apply to this method; ignored", key, value)
            return
    raise TypeError(f"attribute() got an unexpected keyword argument {key!r}")


def cli_option_owners() -> dict[str, tuple[type, dataclasses.Field[Any]]]:
    """Option name -> (options class, field) of each ``galaxy-xai explain`` method flag.

    A field has a flag when its ``metadata`` holds ``"cli"``; of a name declared by
    several methods, the first registered owns it.
    """
    seen: dict[str, tuple[type, dataclasses.Field[Any]]] = {}
    for spec in _REGISTRY.values():
        for f in dataclasses.fields(spec.options):
            if "cli" in f.metadata and f.name not in seen:
                seen[f.name] = (spec.options, f)
    return seen


def cli_option_fields() -> list[dataclasses.Field[Any]]:
    """The option fields with a ``galaxy-xai explain`` flag, by name (:func:`cli_option_owners`)."""
    return [f for _, f in cli_option_owners().values()]


# --------------------------------------------------------------------------- built-ins
def _input_gradients(
    prepared: Prepared, rows: torch.Tensor, targets: torch.Tensor, _options: Any
) -> torch.Tensor:
    return input_gradients(prepared, rows, targets)


def _integrated_gradients(
    call: Call, x: torch.Tensor, targets: torch.Tensor, options: IntegratedGradientsOptions
) -> torch.Tensor:
    return integrated_gradients(
        call.prepared,
        x,
        targets,
        baseline=options.baseline,
        n_steps=options.n_steps,
        batch_size=call.batch_size,
    )


def _gradcam(
    call: Call, x: torch.Tensor, targets: torch.Tensor, options: GradCamOptions
) -> torch.Tensor:
    return gradcam(call.prepared, x, targets, layer=options.layer, batch_size=call.batch_size)


def _occlusion(
    call: Call, x: torch.Tensor, targets: torch.Tensor, options: OcclusionOptions
) -> torch.Tensor:
    return occlusion(
        call.prepared,
        x,
        targets,
        window_px=options.window_px,
        stride_px=options.stride_px,
        baseline=options.baseline,
        batch_size=call.batch_size,
    )


GRADIENT = register_method(
    row_method(
        "gradient",
        _input_gradients,
        default_abs=True,
        checked=True,
        summary="input gradient, the saliency map (Simonyan et al. 2014)",
    )
)
SMOOTHGRAD = register_method(
    noise_tunnel(
        GRADIENT,
        "smoothgrad",
        name="smoothgrad",
        default_abs=True,
        checked=True,
        summary="mean gradient of noisy copies (Smilkov et al. 2017)",
    )
)
SMOOTHGRAD_SQ = register_method(
    noise_tunnel(
        GRADIENT,
        "smoothgrad_sq",
        name="smoothgrad_sq",
        summary="mean squared gradient of noisy copies",
    )
)
VARGRAD = register_method(
    noise_tunnel(
        GRADIENT,
        "vargrad",
        name="vargrad",
        summary="variance of the gradients of noisy copies (Adebayo et al. 2018)",
    )
)
INTEGRATED_GRADIENTS = register_method(
    batch_method(
        "integrated_gradients",
        _integrated_gradients,
        options=IntegratedGradientsOptions,
        checked=True,
        summary="Integrated Gradients (Sundararajan et al. 2017)",
    )
)
GRADCAM = register_method(
    batch_method(
        "gradcam",
        _gradcam,
        options=GradCamOptions,
        output_channels=1,
        checked=True,
        summary="Grad-CAM of a convolutional layer, upsampled (Selvaraju et al. 2017)",
    )
)
OCCLUSION = register_method(
    batch_method(
        "occlusion",
        _occlusion,
        options=OcclusionOptions,
        summary="output drop when a sliding window is hidden (Zeiler & Fergus 2014)",
    )
)
