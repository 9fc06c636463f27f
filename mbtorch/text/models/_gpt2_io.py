"""GPT-2 model folders in Hugging Face's layout: ``config.json`` beside ``model.safetensors``
or ``pytorch_model.bin`` (or their sharded forms, ``*.index.json`` naming the shards).

Reading takes both key spellings — ``transformer.h.0.attn.c_attn.weight`` as
``save_pretrained`` writes today, ``h.0.attn.c_attn.weight`` as the published ``gpt2``
files have them — and drops the causal-mask buffers old files hold (``h.N.attn.bias``,
``h.N.attn.masked_bias``), as Hugging Face does. Writing follows ``transformers``'
``save_pretrained``: prefixed keys, a tied ``lm_head.weight`` left out, safetensors with
``{"format": "pt"}`` metadata.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import warnings
from typing import Any

__all__ = ["CONFIG_NAME", "WEIGHTS_NAMES", "from_pretrained", "save_pretrained",
           "read_weights", "normalize_keys"]

CONFIG_NAME = "config.json"
SAFETENSORS_NAME = "model.safetensors"
PYTORCH_NAME = "pytorch_model.bin"
# looked for in this order, as Hugging Face prefers safetensors
WEIGHTS_NAMES = (SAFETENSORS_NAME, SAFETENSORS_NAME + ".index.json", PYTORCH_NAME,
                 PYTORCH_NAME + ".index.json")
_PREFIX = "transformer."
# buffers of old checkpoints (the causal mask, a constant), never parameters
_IGNORED = re.compile(r"(^|\.)(attn|crossattention)\.(bias|masked_bias)$")


def _where(cls: type) -> str:
    return f"{cls.__name__}.from_pretrained"


def read_weights(folder: str, fn: str) -> tuple[dict[str, Any], str]:
    """The state dict of the first weights file found in ``folder`` (shards merged) and the
    file's name."""
    from mbtorch import load

    for name in WEIGHTS_NAMES:
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            continue
        if not name.endswith(".index.json"):
            return dict(load(path, map_location="cpu")), name
        with open(path, encoding="utf-8") as fh:
            try:
                weight_map = json.load(fh)["weight_map"]
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{fn}: '{path}' is not a shard index (no weight_map): "
                                 f"{exc}") from None
        state: dict[str, Any] = {}
        for shard in sorted(set(weight_map.values())):
            shard_path = os.path.join(folder, os.path.basename(shard))
            if not os.path.isfile(shard_path):
                raise FileNotFoundError(f"{fn}: '{path}' names shard '{shard}', which "
                                        f"'{folder}' does not hold")
            state.update(load(shard_path, map_location="cpu"))
        return state, name
    raise FileNotFoundError(f"{fn}: '{folder}' holds no weights: looked for "
                            f"{', '.join(WEIGHTS_NAMES)}")


def normalize_keys(state: dict[str, Any], with_head: bool, tied: bool) -> dict[str, Any]:
    """The checkpoint's keys as the model names them: the ``transformer.`` prefix added (a
    model with a head) or removed (the bare ``GPT2Model``), mask buffers dropped, a head
    weight the tie replaces dropped (Hugging Face keeps the embedding's)."""
    out = {}
    for key, value in state.items():
        if _IGNORED.search(key):
            continue
        if key.startswith("lm_head."):
            if with_head and not (tied and key == "lm_head.weight"):
                out[key] = value
            continue  # GPT2Model has no head; a tied head is the embedding
        bare = key[len(_PREFIX):] if key.startswith(_PREFIX) else key
        out[_PREFIX + bare if with_head else bare] = value
    return out


def _check_shapes(fn: str, model: Any, state: dict[str, Any], source: str) -> None:
    own = model.state_dict()
    wrong = [f"{k} is {tuple(v.shape)} in the file, {tuple(own[k].shape)} from the config"
             for k, v in state.items() if k in own and tuple(v.shape) != tuple(own[k].shape)]
    if wrong:
        raise RuntimeError(f"{fn}: the weights in '{source}' do not fit its config.json: "
                           + "; ".join(wrong[:5])
                           + (f"; and {len(wrong) - 5} more" if len(wrong) > 5 else ""))


def from_pretrained(cls: type, folder: str | os.PathLike, strict: bool,
                    output_loading_info: bool) -> Any:
    from ._gpt2_config import GPT2Config

    fn = _where(cls)
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{fn}: '{folder}' is not a folder; it reads a local model "
                                "folder in Hugging Face's layout (download one with e.g. "
                                "`hf download gpt2 --local-dir gpt2`)")
    config_path = os.path.join(folder, CONFIG_NAME)
    if not os.path.isfile(config_path):
        raise FileNotFoundError(f"{fn}: '{folder}' has no {CONFIG_NAME}")
    config = GPT2Config.from_json_file(config_path)
    state, name = read_weights(folder, fn)
    from .gpt2 import _without_init

    with _without_init():  # the checkpoint overwrites the weights
        model = cls(config)
    with_head = hasattr(model, "lm_head")
    state = normalize_keys(state, with_head, config.tie_word_embeddings)
    source = os.path.join(folder, name)
    _check_shapes(fn, model, state, source)
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys
               if not (with_head and config.tie_word_embeddings and k == "lm_head.weight")]
    info = {"missing_keys": missing, "unexpected_keys": list(result.unexpected_keys)}
    if missing or info["unexpected_keys"]:
        text = (f"missing keys (left at their random initialization): {missing}; unexpected "
                f"keys (not used): {info['unexpected_keys']}")
        if strict:
            raise RuntimeError(f"{fn}: '{source}' does not match the model: {text}. "
                               "strict=False loads it anyway")
        warnings.warn(f"{fn}: '{source}': {text}", stacklevel=3)
        model._init_weights(missing)
    model.eval()
    return (model, info) if output_loading_info else model


def _save_safetensors(state: dict[str, Any], path: str) -> None:
    from safetensors.numpy import save_file

    arrays = {k: v.detach().contiguous().numpy(force=True) for k, v in state.items()}
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-", suffix=".safetensors")
    os.close(fd)
    try:
        save_file(arrays, tmp, metadata={"format": "pt"})
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def save_pretrained(model: Any, folder: str | os.PathLike, safe_serialization: bool) -> None:
    from mbtorch import save

    folder = os.fspath(folder)
    if os.path.isfile(folder):
        raise FileExistsError(f"{type(model).__name__}.save_pretrained: '{folder}' is a file, "
                              "not a folder")
    os.makedirs(folder, exist_ok=True)
    config = model.config
    state = model.state_dict()
    if hasattr(model, "lm_head") and config.tie_word_embeddings:
        del state["lm_head.weight"]  # the same tensor as transformer.wte.weight
    model.config.to_json_file(os.path.join(folder, CONFIG_NAME))
    if safe_serialization:
        _save_safetensors(state, os.path.join(folder, SAFETENSORS_NAME))
    else:
        save(dict(state), os.path.join(folder, PYTORCH_NAME))
