"""Install a model archive into the user model folder; export a model as one.

An archive is a zip file holding one model folder's files, at its top level or inside
one folder: ``model.safetensors``, ``model.json``, ``card.json`` and optionally
``split.json`` and ``card.md``. Nothing else is accepted, no member is extracted by
its own path (names are matched, never joined onto the destination), sizes are capped,
and the archive's sha256 must be the one the user gives. The model is then read and
built as any trained model (weights only, checksums checked) before it is moved into
place, so a model that installs is a model that loads.

Downloads happen only here, when the user runs ``galaxy-xai models install URL``.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from pathlib import Path

from galaxy_xai.errors import DataFormatError, DataMissingError, ModelMismatchError, ParameterError
from galaxy_xai.io import atomic_output
from galaxy_xai.models.shipped import (
    CARD_NAME,
    NAME_PATTERN,
    check_model_folder,
    shipped_dir,
    user_models_dir,
    zoo_model_dir,
)

__all__ = ["ARCHIVE_MEMBERS", "MAX_ARCHIVE_BYTES", "export_model", "install_model"]

#: Files an archive may hold (and must, except the optional two).
ARCHIVE_MEMBERS = ("model.safetensors", "model.json", CARD_NAME, "split.json", "card.md")
REQUIRED_MEMBERS = ("model.safetensors", "model.json", CARD_NAME)
#: Largest archive (download or file), and largest unpacked size of each member and of
#: all of them: weights may be large, the JSON and Markdown files are small.
MAX_ARCHIVE_BYTES = 2 * 2**30
MAX_MEMBER_BYTES = {"model.safetensors": 2 * 2**30, "model.json": 64 * 2**20,
                    CARD_NAME: 16 * 2**20, "split.json": 256 * 2**20, "card.md": 16 * 2**20}  # fmt: skip
MAX_UNPACKED_BYTES = 2 * 2**30 + 64 * 2**20
#: What a damaged or unusual zip member raises while it is read.
_ZIP_READ_ERRORS = (zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError,
                    EOFError, OSError, ValueError)  # fmt: skip
DOWNLOAD_TIMEOUT_S = 60.0


def _check_sha256(value: str) -> str:
    text = value.strip().lower()
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise ParameterError("sha256", value, "must be 64 hexadecimal digits")
    return text


def _fetch(source: str, dest: Path) -> str:
    """Copy or download ``source`` to ``dest``; its sha256."""
    digest = hashlib.sha256()
    parsed = urllib.parse.urlparse(source)
    if parsed.scheme in ("http", "https"):
        try:
            response = urllib.request.urlopen(source, timeout=DOWNLOAD_TIMEOUT_S)
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            raise DataMissingError(f"could not download '{source}': {exc}") from None
        reader = response
    elif parsed.scheme in ("", "file") or len(parsed.scheme) == 1:  # C:\ on Windows
        local = Path(
            urllib.request.url2pathname(parsed.path) if parsed.scheme == "file" else source
        )
        if local.is_dir():
            raise ParameterError(
                "PATH_OR_URL", source, "is a folder; give a model archive (.zip) made by "
                "'galaxy-xai models export'",
            )  # fmt: skip
        if not local.is_file():
            raise DataMissingError(f"model archive '{source}' does not exist")
        reader = open(local, "rb")  # noqa: SIM115 - closed below
    else:
        raise ParameterError("PATH_OR_URL", source, "must be a file, or an http(s) URL")
    total = 0
    try:
        with reader, open(dest, "wb") as out:
            while block := reader.read(2**20):
                total += len(block)
                if total > MAX_ARCHIVE_BYTES:
                    raise DataFormatError(
                        f"model archive '{source}' is over {MAX_ARCHIVE_BYTES} bytes"
                    )
                digest.update(block)
                out.write(block)
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        raise DataMissingError(f"could not read '{source}': {exc}") from None
    return digest.hexdigest()


def _unpack(archive: Path, folder: Path, source: str) -> None:
    """Extract the accepted members of ``archive`` into ``folder`` by name only."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataFormatError(f"model archive '{source}' is not a zip file: {exc}") from None
    with zf:
        members = [m for m in zf.infolist() if not m.is_dir()]
        prefixes = {Path(m.filename).parent.as_posix() for m in members}
        if len(prefixes) != 1 or any(".." in Path(m.filename).parts for m in members):
            raise DataFormatError(
                f"model archive '{source}' must hold one model's files in one folder"
            )
        seen: set[str] = set()
        total = 0
        for member in members:
            name = Path(member.filename).name
            if name not in ARCHIVE_MEMBERS or name in seen:
                raise DataFormatError(
                    f"model archive '{source}' holds '{member.filename}'; a model archive "
                    f"holds only {', '.join(ARCHIVE_MEMBERS)}"
                )
            if member.file_size > MAX_MEMBER_BYTES[name]:
                raise DataFormatError(
                    f"model archive '{source}' member '{name}' unpacks to {member.file_size} "
                    f"bytes, more than a model's {name} holds (at most {MAX_MEMBER_BYTES[name]})"
                )
            total += member.file_size
            if total > MAX_UNPACKED_BYTES:
                raise DataFormatError(f"model archive '{source}' unpacks to over {total} bytes")
            seen.add(name)
            try:
                with zf.open(member) as src, open(folder / name, "wb") as dst:
                    copied = 0
                    while block := src.read(2**20):
                        copied += len(block)
                        if copied > member.file_size:  # a header that lies about its size
                            raise DataFormatError(
                                f"model archive '{source}' member '{name}' is larger than its "
                                "header says"
                            )
                        dst.write(block)
            except _ZIP_READ_ERRORS as exc:
                raise DataFormatError(
                    f"model archive '{source}' member '{name}' cannot be read (damaged, "
                    f"encrypted or an unsupported compression): {type(exc).__name__}: "
                    f"{' '.join(str(exc).split())[:160]}"
                ) from None
        missing = [m for m in REQUIRED_MEMBERS if m not in seen]
        if missing:
            raise DataFormatError(f"model archive '{source}' lacks {', '.join(missing)}")


def install_model(
    source: str | os.PathLike[str],
    sha256: str,
    *,
    models_dir: str | os.PathLike[str] | None = None,
    force: bool = False,
) -> Path:
    """Install the model archive ``source`` (file or http(s) URL) after checking it.

    Parameters
    ----------
    source
        A ``.zip`` made by :func:`export_model` (or by hand, same members).
    sha256
        The archive's expected sha256 (hex); nothing is installed if it differs.
    models_dir
        Destination root (default :func:`~galaxy_xai.models.shipped.user_models_dir`).
    force
        Replace an installed model of the same name.

    Returns
    -------
    Path
        The installed model's folder (``MODELS/NAME``).

    Raises
    ------
    ParameterError
        For a malformed sha256, a name that a shipped model has, or one already installed
        without ``force``.
    ModelMismatchError
        If the checksum differs, the card does not match its weights, or the model does
        not load.
    DataFormatError, DataMissingError
        For an archive that is not a model archive, or cannot be read.
    """
    from galaxy_xai.train.io import load_trained

    expected = _check_sha256(sha256)
    source = str(source)
    root = Path(models_dir) if models_dir is not None else user_models_dir()
    if root.exists() and not root.is_dir():
        raise ParameterError("GALAXY_XAI_MODELS", str(root), "is a file, not a folder")
    try:
        root.mkdir(parents=True, exist_ok=True)
        staging = tempfile.TemporaryDirectory(prefix=".install-", dir=root)
    except OSError as exc:
        raise ParameterError(
            "GALAXY_XAI_MODELS", str(root), f"cannot be written: {exc.strerror or exc}"
        ) from None
    with staging as tmp:
        archive = Path(tmp) / "archive.zip"
        actual = _fetch(source, archive)
        if actual != expected:
            raise ModelMismatchError(
                f"model archive '{source}' has sha256 {actual}, not the {expected} given: "
                "not installed"
            )
        staged = Path(tmp) / "model"
        staged.mkdir()
        _unpack(archive, staged, source)
        name = read_card_name(staged, source)
        if (shipped_dir() / name).is_dir():
            raise ParameterError(
                "PATH_OR_URL", source, f"names model '{name}', which ships with galaxy-xai"
            )
        final = root / name
        present = final.exists() or final.is_symlink()
        if present and not force:
            raise ParameterError(
                "PATH_OR_URL", source, f"model '{name}' is already installed in '{root}' "
                "(pass --force to replace it)",
            )  # fmt: skip
        target = Path(tmp) / name
        staged.rename(target)
        check_model_folder(target)
        load_trained(target)  # weights only; refuses a model that does not build
        try:
            if present:  # moved aside first (a folder, a file or a link): never deleted in place
                final.rename(Path(tmp) / "replaced")
            target.rename(final)
        except OSError as exc:
            raise ParameterError(
                "GALAXY_XAI_MODELS", str(root), f"cannot install into it: {exc.strerror or exc}"
            ) from None
    return final


def read_card_name(folder: Path, source: str) -> str:
    """The model name a staged folder's card gives (checked to be a valid name).

    Raises
    ------
    DataMissingError
        If ``folder`` has no model card.
    DataFormatError
        If the card is not a JSON object, or its ``name`` is not lower-case letters,
        digits and dashes.
    """
    from galaxy_xai.io import read_json

    card = read_json(folder / CARD_NAME, what="model card")
    name = card.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise DataFormatError(
            f"model archive '{source}': card field 'name' must be lower-case letters, digits "
            f"and dashes, found {name!r}"
        )
    return name


def export_model(name: str, out: str | os.PathLike[str]) -> tuple[Path, str]:
    """Write model ``name`` (shipped or installed) as an installable zip; its sha256."""
    from galaxy_xai.models.files import sha256_file

    folder = zoo_model_dir(name)
    out = Path(out)
    with atomic_output(out) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for member in ARCHIVE_MEMBERS:
            if (folder / member).is_file():
                zf.write(folder / member, f"{folder.name}/{member}")
    return out, sha256_file(out)
