"""Which model output to explain: a class index or a named output such as ``"bar"``."""

from __future__ import annotations

from collections.abc import Sequence

from galaxy_xai.errors import ParameterError

__all__ = ["resolve_target"]


def resolve_target(
    target: int | str | None,
    *,
    output_names: Sequence[str] | None = None,
    n_outputs: int | None = None,
) -> int:
    """Turn a target given by index or by name into an output column index.

    Parameters
    ----------
    target
        An output index (``0 <= target < n_outputs``), the name of an output (one of
        ``output_names``, e.g. the Galaxy Zoo answer ``"bar"``), a decimal string such
        as ``"2"`` (as typed on the command line, when it is not itself a name), or
        None for a model with a single output.
    output_names
        Names of the model's outputs in column order (``TrainedModel.output_names``).
    n_outputs
        Number of output columns; taken from ``output_names`` when omitted.

    Returns
    -------
    int
        The output column to differentiate.

    Raises
    ------
    ParameterError
        If the name is not an output of the model (the message lists the names), the
        index is out of range, or ``target`` is None for a multi-output model.
    """
    names = list(output_names) if output_names is not None else None
    if n_outputs is None and names is not None:
        n_outputs = len(names)
    if names is not None and n_outputs is not None and len(names) != n_outputs:
        raise ParameterError(
            "output_names",
            names,
            f"has {len(names)} names but the model has {n_outputs} outputs",
        )
    listing = f"the model's outputs are {names}" if names else f"the model has {n_outputs} outputs"
    if target is None:
        if n_outputs == 1:
            return 0
        raise ParameterError(
            "target", None, f"choose which output to explain, by index or name; {listing}"
        )
    if isinstance(target, str):
        if names is not None and target in names:
            return names.index(target)
        stripped = target.strip()
        if stripped.lstrip("-").isdigit():
            target = int(stripped)
        else:
            hint = listing if names else "this model has no output names; give an index"
            raise ParameterError("target", target, f"is not an output of the model; {hint}")
    if isinstance(target, bool) or not isinstance(target, int):
        if hasattr(target, "__index__"):
            target = int(target)  # numpy integers
        else:
            raise ParameterError("target", target, "must be an output index or an output name")
    if n_outputs is not None and not 0 <= target < n_outputs:
        raise ParameterError(
            "target", target, f"index out of range: {listing} (valid: 0..{n_outputs - 1})"
        )
    if target < 0:
        raise ParameterError("target", target, "must be >= 0")
    return int(target)
