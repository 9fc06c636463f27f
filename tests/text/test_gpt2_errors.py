"""GPT-2's configuration, its model-folder errors, argument checks and reproducible sampling
(no Hugging Face needed: the folders are written by ``save_pretrained``)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.text.models import GPT2Config, GPT2LMHeadModel

TINY = dict(vocab_size=97, n_positions=16, n_embd=32, n_layer=2, n_head=4, bos_token_id=0,
            eos_token_id=0)


@pytest.fixture(scope="module")
def model():
    mt.manual_seed(0)
    return GPT2LMHeadModel(GPT2Config(**TINY, initializer_range=0.3)).eval()


@pytest.fixture
def folder(model, tmp_path):
    model.save_pretrained(tmp_path / "m")
    return tmp_path / "m"


def test_config_reads_hugging_faces_json_and_keeps_the_rest(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**TINY, "model_type": "gpt2", "n_ctx": 16, "summary_type":
                                "cls_index", "architectures": ["GPT2LMHeadModel"],
                                "activation_function": "gelu_new", "n_inner": None}))
    config = GPT2Config.from_json_file(path)
    assert (config.n_embd, config.hidden_size, config.num_hidden_layers) == (32, 32, 2)
    assert config.inner_dim == 128 and config.extra["n_ctx"] == 16
    assert config.to_dict()["summary_type"] == "cls_index"
    assert GPT2Config.from_dict(config.to_dict()) == config
    assert GPT2Config.from_dict({"hidden_size": 64, "n_head": 8}).n_embd == 64


@pytest.mark.parametrize("bad, message", [
    ({"n_embd": 30}, "n_embd (30) must be divisible by n_head (4)"),
    ({"activation_function": "mish"}, "activation_function 'mish' is not supported"),
    ({"vocab_size": 0}, "vocab_size must be a positive int"),
    ({"attn_pdrop": 1.5}, "attn_pdrop must be a probability"),
    ({"model_type": "bert"}, "model_type is 'bert', not 'gpt2'"),
    ({"add_cross_attention": True}, "add_cross_attention=True"),
])
def test_config_errors(bad, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        GPT2Config.from_dict({**TINY, **bad})


def test_missing_folder_config_and_weights(tmp_path, folder):
    with pytest.raises(FileNotFoundError, match="'.*nowhere' is not a folder"):
        GPT2LMHeadModel.from_pretrained(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="has no config.json"):
        GPT2LMHeadModel.from_pretrained(tmp_path / "empty")
    (folder / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="holds no weights: looked for "
                                                "model.safetensors, .*pytorch_model.bin"):
        GPT2LMHeadModel.from_pretrained(folder)
    with pytest.raises(FileNotFoundError, match="GPT2Config.from_json_file: no such file"):
        GPT2Config.from_json_file(tmp_path / "config.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ValueError, match="is not valid JSON"):
        GPT2Config.from_json_file(tmp_path / "broken.json")


def test_config_and_weights_disagree(folder):
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "n_embd": 64}))
    with pytest.raises(RuntimeError, match=r"do not fit its config.json: .*transformer.h.0."
                                           r"attn.c_attn.weight is \(32, 96\) in the file, "
                                           r"\(64, 192\) from the config; .*; and \d+ more"):
        GPT2LMHeadModel.from_pretrained(folder)


def test_missing_and_unexpected_keys(model, folder):
    state = mt.load(folder / "model.safetensors")
    del state["transformer.ln_f.bias"]
    state["transformer.h.0.attn.rotary"] = mt.zeros(3)
    mt.save(state, folder / "model.safetensors")
    with pytest.raises(RuntimeError, match=r"missing keys .*'transformer.ln_f.bias'.*"
                                           r"unexpected keys .*'transformer.h.0.attn.rotary'"):
        GPT2LMHeadModel.from_pretrained(folder)
    with pytest.warns(UserWarning, match="transformer.ln_f.bias"):
        loaded, info = GPT2LMHeadModel.from_pretrained(folder, strict=False,
                                                       output_loading_info=True)
    assert info == {"missing_keys": ["transformer.ln_f.bias"],
                    "unexpected_keys": ["transformer.h.0.attn.rotary"]}
    assert mt.equal(loaded.transformer.wte.weight, model.transformer.wte.weight)
    assert loaded.transformer.ln_f.bias.abs().sum().item() == 0  # initialized, as HF's


def test_sharded_safetensors(model, folder):
    state = mt.load(folder / "model.safetensors")
    keys = sorted(state)
    shards = {"model-00001-of-00002.safetensors": keys[:10],
              "model-00002-of-00002.safetensors": keys[10:]}
    for name, part in shards.items():
        mt.save({k: state[k] for k in part}, folder / name)
    (folder / "model.safetensors").unlink()
    (folder / "model.safetensors.index.json").write_text(json.dumps(
        {"weight_map": {k: name for name, part in shards.items() for k in part}}))
    loaded = GPT2LMHeadModel.from_pretrained(folder)
    ids = mt.tensor([[1, 2, 3]])
    with mt.no_grad():
        assert mt.equal(loaded(ids).logits, model(ids).logits)


def test_input_errors_name_the_argument(model):
    ids = mt.tensor([[1, 2, 3]])
    with pytest.raises(IndexError, match=r"input_ids holds token id 97, outside the vocabulary "
                                         r"\[0, 97\) of config.vocab_size"):
        model(mt.tensor([[1, 97]]))
    with pytest.raises(IndexError, match="input_ids holds token id -1"):
        model.generate(mt.tensor([[-1, 2]]), 3)
    with pytest.raises(ValueError, match="input_ids has 17 tokens after 0 cached ones, more than "
                                         "the 16 positions of config.n_positions"):
        model(mt.zeros(1, 17, dtype=mt.int64))
    with pytest.raises(ValueError, match="max_new_tokens=14 exceed the 16 positions"):
        model.generate(ids, 14)
    with pytest.raises(ValueError, match=r"input_ids must be an integer tensor .* got a "
                                         r"mbtorch.float32 tensor of shape \(1, 3\)"):
        model(ids.float())
    with pytest.raises(ValueError, match="input_ids must be an integer tensor"):
        model(mt.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match=r"attention_mask must have shape .* = \(1, 3\), got "
                                         r"\(1, 2\)"):
        model(ids, attention_mask=mt.ones(1, 2))
    with pytest.raises(ValueError, match="position_ids must be a tensor of shape"):
        model(ids, position_ids=mt.tensor([[0, 1]]))
    with pytest.raises(IndexError, match=r"position_ids holds 16, outside \[0, 16\)"):
        model(ids, position_ids=mt.tensor([[0, 1, 16]]))
    with pytest.raises(ValueError, match="labels must be a tensor of input_ids' shape"):
        model(ids, labels=mt.tensor([[1, 2]]))
    cache = model(ids, use_cache=True).past_key_values
    with pytest.raises(ValueError, match="past_key_values must hold one .key, value. pair per "
                                         "layer .2."):
        model(ids, past_key_values=cache[:1])
    with pytest.raises(ValueError, match=r"pairs of shape \(2, 4, cached, 8\)"):
        model(mt.tensor([[1], [2]]), past_key_values=cache)
    with pytest.raises(ValueError, match="input_ids has 14 tokens after 3 cached ones"):
        model(mt.zeros(1, 14, dtype=mt.int64), past_key_values=cache)


@pytest.mark.parametrize("kwargs, message", [
    ({"max_new_tokens": 0}, "max_new_tokens must be a positive int"),
    ({"temperature": 0.0}, "temperature must be a positive number"),
    ({"top_k": 0}, "top_k must be None or a positive int"),
    ({"top_p": 1.5}, r"top_p must be None or in \(0, 1\]"),
    ({"eos_token_id": 500}, r"eos_token_id must be token ids in \[0, 97\)"),
    ({"generator": 3}, "generator must be an mbtorch.Generator"),
])
def test_generate_argument_errors(model, kwargs, message):
    with pytest.raises((ValueError, TypeError), match=f"GPT2LMHeadModel.generate: {message}"):
        model.generate(mt.tensor([[1, 2]]), **{"max_new_tokens": 3, **kwargs})


def test_sampling_is_reproducible(model):
    ids = mt.tensor([[5, 6, 7], [8, 9, 10]])
    kwargs = dict(max_new_tokens=8, do_sample=True, temperature=1.5, eos_token_id=[])
    mt.manual_seed(123)
    first = model.generate(ids, **kwargs, top_k=40, top_p=0.95)
    mt.manual_seed(123)
    second = model.generate(ids, **kwargs, top_k=40, top_p=0.95)
    assert mt.equal(first, second)
    draws = {tuple(model.generate(ids, **kwargs).flatten().tolist()) for _ in range(3)}
    assert len(draws) > 1  # it does sample
    one = model.generate(ids, **kwargs, generator=mt.Generator().manual_seed(7))
    assert mt.equal(one, model.generate(ids, **kwargs, generator=mt.Generator().manual_seed(7)))
    # top_k=1 and a tiny top_p leave only the best token: greedy
    greedy = model.generate(ids, 8, eos_token_id=[])
    assert mt.equal(model.generate(ids, **kwargs, top_k=1), greedy)
    assert mt.equal(model.generate(ids, **kwargs, top_p=1e-6), greedy)


def test_generate_stops_at_eos_and_pads(model):
    ids = mt.tensor([[5, 6, 7], [8, 9, 10]])
    free = model.generate(ids, 6, eos_token_id=[]).numpy()
    eos = int(free[0, 4])
    out = model.generate(ids, 6, eos_token_id=eos, pad_token_id=1).numpy()
    row = list(free[0, 3:]).index(eos) + 3
    np.testing.assert_array_equal(out[0, :row + 1], free[0, :row + 1])
    assert (out[0, row + 1:] == 1).all()
    assert model.generate(ids[:1], 6, eos_token_id=eos).shape[1] == row + 1  # all ended


def test_dropout_in_training_and_the_cache_under_grad(model):
    config = GPT2Config(**TINY, resid_pdrop=0.5, embd_pdrop=0.5, attn_pdrop=0.5)
    m = GPT2LMHeadModel(config)
    ids = mt.tensor([[1, 2, 3, 4]])
    assert not mt.equal(m(ids).logits, m(ids).logits)
    m.eval()
    assert mt.equal(m(ids).logits, m(ids).logits)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = model(ids, use_cache=True, labels=ids)
    assert out.loss.requires_grad and len(out.past_key_values) == 2


def test_sampling_on_mini_draws_what_cpu_draws(mini_device):
    # the counter-based generator gives the same numbers on every backend
    mt.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(**TINY, initializer_range=0.3)).eval()
    ids = mt.tensor([[1, 2, 3]])
    kwargs = dict(max_new_tokens=6, do_sample=True, top_k=10, top_p=0.9, eos_token_id=[])
    mt.manual_seed(5)
    on_cpu = model.generate(ids, **kwargs).tolist()
    model.to(mini_device)
    mt.manual_seed(5)
    on_mini = model.generate(ids.to(mini_device), **kwargs)
    assert on_mini.device.type == "mini" and on_mini.tolist() == on_cpu
