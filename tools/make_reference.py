#!/usr/bin/env python3
"""Generate Mamba parity fixtures for mambaflow from Hugging Face transformers.

Usage:
    python3 tools/make_reference.py OUTDIR

Needs torch, transformers (with Mamba support) and safetensors, and must run where
mamba_ssm and causal_conv1d are NOT installed (the script refuses otherwise): the
reference comes from transformers' pure-PyTorch Mamba code (its reference
``causal_conv1d_fn`` / ``selective_scan_fn`` fallbacks), on the CPU, in float32, with
the sequential recurrence. ``use_associative_scan`` is set to False in the configs;
transformers >= 5.15 only takes that parallel scan under torch.compile, so eager runs
are sequential either way, but the saved configs then say so explicitly.

Self-checks printed per fixture: each saved directory is reloaded (from_pretrained,
or a strict load_state_dict of the renamed tensors for ssm-naming) and must give the
same hidden states.

For every fixture a small Mamba model is built with random weights, and then every
parameter is overwritten with values far from transformers' defaults (A_log, D,
dt bias, conv bias, norm weights all randomised), so that a C++ implementation that
silently ignores or mis-reads a tensor produces visibly different output.

Layout written under OUTDIR:

    versions.txt                      python / torch / transformers / safetensors versions
    <fixture>/config.json             model config (HF format, or mamba_ssm format for ssm-naming)
    <fixture>/model*.safetensors      weights (+ model.safetensors.index.json when sharded)
    <fixture>/reference.safetensors   input_ids  int64   [L]
                                      last_hidden_state float32 [L, hidden_size]
                                      (hidden states after the final RMSNorm, batch 1,
                                       whole sequence in one call, use_cache=False)
    tiny-random-dna/                  demo model (no reference), config.json carries a
                                      "mambaflow" section

Fixtures:
    dna-small   MambaForCausalLM, DNA vocabulary (12), 2 layers, conv bias, no linear bias.
    odd-shapes  MambaModel with non-power-of-two sizes, expand 3, explicit dt rank 5,
                linear biases, no conv bias, residual_in_fp32 False, eps 1e-6.
    wide-state  MambaModel, intermediate_size set explicitly (80, not expand * hidden),
                state size 32, conv kernel 2, one layer.
    sharded     dna-small architecture, other seed, saved in several safetensors shards.
    ssm-naming  the original mamba_ssm checkpoint layout: mamba_ssm config.json,
                "backbone.embedding.weight", explicit lm_head.weight, vocab padded 12 -> 16.
"""

import importlib.util
import inspect
import json
import math
import os
import platform
import sys
from dataclasses import dataclass, field
from typing import Optional

import safetensors
import safetensors.torch
import torch
import transformers
from transformers import MambaConfig, MambaForCausalLM, MambaModel

DNA_IDS = (7, 12)  # token ids of A C G T N in the mambaflow DNA tokenizer (high exclusive)


@dataclass
class Fixture:
    name: str
    seed: int
    seq_len: int
    causal_lm: bool  # MambaForCausalLM if True, MambaModel otherwise
    config: dict
    id_range: Optional[tuple] = None  # (low, high exclusive); None means the whole vocabulary
    intermediate_size: Optional[int] = None  # override expand * hidden_size when set
    save_kwargs: dict = field(default_factory=dict)


DNA_SMALL_CONFIG = dict(
    vocab_size=12,
    hidden_size=32,
    state_size=16,
    expand=2,
    conv_kernel=4,
    time_step_rank="auto",
    num_hidden_layers=2,
    residual_in_fp32=True,
    use_bias=False,
    use_conv_bias=True,
    layer_norm_epsilon=1e-5,
)

FIXTURES = [
    Fixture("dna-small", seed=1001, seq_len=160, causal_lm=True,
            config=DNA_SMALL_CONFIG, id_range=DNA_IDS),
    Fixture("odd-shapes", seed=1002, seq_len=131, causal_lm=False,
            config=dict(
                vocab_size=37,
                hidden_size=24,
                state_size=7,
                expand=3,
                conv_kernel=3,
                time_step_rank=5,
                num_hidden_layers=3,
                residual_in_fp32=False,
                use_bias=True,
                use_conv_bias=False,
                layer_norm_epsilon=1e-6,
            )),
    Fixture("wide-state", seed=1003, seq_len=97, causal_lm=False,
            config=dict(
                vocab_size=12,
                hidden_size=48,
                state_size=32,
                expand=2,
                conv_kernel=2,
                time_step_rank="auto",
                num_hidden_layers=1,
                layer_norm_epsilon=1e-5,
            ),
            intermediate_size=80),
    Fixture("sharded", seed=1004, seq_len=64, causal_lm=True,
            config=DNA_SMALL_CONFIG, id_range=DNA_IDS,
            save_kwargs=dict(max_shard_size="20KB")),
]

# ssm-naming: the HF model is built with the padded vocabulary (mamba_ssm rounds 12 up to 16).
SSM_NAMING = Fixture("ssm-naming", seed=1005, seq_len=80, causal_lm=True,
                     config=dict(DNA_SMALL_CONFIG, vocab_size=16), id_range=DNA_IDS)
SSM_NAMING_CONFIG = {
    "d_model": 32,
    "n_layer": 2,
    "vocab_size": 12,
    "ssm_cfg": {"d_state": 16, "d_conv": 4, "expand": 2},
    "rms_norm": True,
    "residual_in_fp32": True,
    "fused_add_norm": True,
    "pad_vocab_size_multiple": 8,
    "tie_embeddings": True,
}

DEMO = Fixture("tiny-random-dna", seed=2024, seq_len=64, causal_lm=True,
               config=dict(DNA_SMALL_CONFIG, hidden_size=64), id_range=DNA_IDS)
DEMO_NOTE = {
    "task": "embed",
    "tokenizer": "dna",
    "note": "random weights, for plumbing and demos only; not a trained model",
}


# --------------------------------------------------------------------------- model setup

def build_config(fx):
    config = MambaConfig(**fx.config)
    if fx.intermediate_size is not None:
        # MambaConfig derives intermediate_size = expand * hidden_size; an explicit
        # value saved in config.json wins again when the model is reloaded.
        config.intermediate_size = fx.intermediate_size
    if hasattr(config, "use_associative_scan"):  # transformers >= 5.15
        config.use_associative_scan = False
    return config


def build_model(fx):
    torch.manual_seed(fx.seed)
    config = build_config(fx)
    model = (MambaForCausalLM if fx.causal_lm else MambaModel)(config)
    randomize_parameters(model, fx.seed)
    return model.eval()


@torch.no_grad()
def randomize_parameters(model, seed):
    """Overwrite every parameter with values away from transformers' initialisation."""
    gen = torch.Generator().manual_seed(seed + 7919)

    def uniform(shape, lo, hi):
        return torch.rand(shape, generator=gen) * (hi - lo) + lo

    def normal(shape, mean, std):
        return torch.randn(shape, generator=gen) * std + mean

    # named_parameters() yields tied tensors (embedding / lm_head) only once.
    for name, p in model.named_parameters():
        shape = p.shape
        if name.endswith("A_log"):
            # A = -exp(A_log) with |A| in [0.5, 16], independently per element.
            value = torch.log(uniform(shape, 0.5, 16.0))
        elif name.endswith("mixer.D"):
            value = normal(shape, 1.0, 0.5)
        elif name.endswith("dt_proj.bias"):
            # softplus(bias) log-uniform in [1e-3, 1e-1]; bias = inverse softplus.
            dt = torch.exp(uniform(shape, math.log(1e-3), math.log(1e-1)))
            value = dt + torch.log(-torch.expm1(-dt))
        elif "norm" in name and name.endswith("weight"):
            value = uniform(shape, 0.5, 1.5)
        elif name.endswith("bias"):
            value = normal(shape, 0.0, 0.2)
        elif "embedding" in name:
            value = normal(shape, 0.0, 1.0)
        elif name.endswith("weight") and p.dim() >= 2:
            # Linear [out, in] and depthwise Conv1d [channels, 1, kernel]: fan_in = prod(shape[1:]).
            fan_in = p[0].numel()
            value = normal(shape, 0.0, 1.0 / math.sqrt(fan_in))
        else:
            raise ValueError(f"no randomisation rule for parameter {name} {tuple(shape)}")
        p.copy_(value.to(p.dtype))


def make_input_ids(fx, vocab_size):
    gen = torch.Generator().manual_seed(fx.seed + 104729)
    low, high = fx.id_range if fx.id_range is not None else (0, vocab_size)
    return torch.randint(low, high, (fx.seq_len,), generator=gen, dtype=torch.int64)


@torch.no_grad()
def final_hidden_states(model, input_ids):
    """Final-norm hidden states [L, hidden] for one sequence, whole sequence at once."""
    backbone = model.backbone if isinstance(model, MambaForCausalLM) else model
    out = backbone(input_ids=input_ids[None, :], use_cache=False)
    return out.last_hidden_state[0].to(torch.float32).contiguous()


def check_pure_pytorch():
    """The reference must not come from the mamba_ssm / causal_conv1d kernels."""
    for package in ("mamba_ssm", "causal_conv1d"):
        if importlib.util.find_spec(package) is not None:
            raise RuntimeError(f"{package} is installed; run where it is not")


def check_on_cpu(model):
    devices = {p.device.type for p in model.parameters()}
    if devices != {"cpu"}:
        raise RuntimeError(f"model must run on the CPU, got {devices}")


# --------------------------------------------------------------------------- writers

def save_hf(model, directory, **kwargs):
    # transformers 5 always writes safetensors and may no longer take safe_serialization.
    if "safe_serialization" in inspect.signature(model.save_pretrained).parameters:
        kwargs["safe_serialization"] = True
    model.save_pretrained(directory, **kwargs)


def save_reference(directory, input_ids, hidden):
    safetensors.torch.save_file(
        {"input_ids": input_ids.contiguous(), "last_hidden_state": hidden},
        os.path.join(directory, "reference.safetensors"),
        metadata={"source": f"transformers {transformers.__version__}, pure PyTorch, "
                            "float32, cpu, sequential scan"},
    )


def to_mamba_ssm_state_dict(model):
    """Rename an HF MambaForCausalLM state dict into mamba_ssm's MambaLMHeadModel layout."""
    state = {}
    for name, tensor in model.state_dict().items():
        if name == "backbone.embeddings.weight":
            name = "backbone.embedding.weight"
        # Clone: safetensors refuses tensors that share storage (tied lm_head / embedding).
        state[name] = tensor.detach().clone().contiguous()
    if "lm_head.weight" not in state:
        state["lm_head.weight"] = state["backbone.embedding.weight"].clone()
    return state


def from_mamba_ssm_state_dict(state):
    return {("backbone.embeddings.weight" if k == "backbone.embedding.weight" else k): v
            for k, v in state.items()}


def describe(name, input_ids, hidden, extra=""):
    print(f"{name:16s} L={input_ids.numel():4d} hidden={hidden.shape[1]:3d} "
          f"abs_max={hidden.abs().max().item():.6f} {extra}".rstrip(), flush=True)


def check_same(name, actual, expected):
    diff = (actual - expected).abs().max().item()
    if diff != 0.0:
        raise RuntimeError(f"{name}: reloaded model differs from the reference by {diff}")


# --------------------------------------------------------------------------- fixtures

def make_hf_fixture(fx, outdir):
    directory = os.path.join(outdir, fx.name)
    os.makedirs(directory)
    model = build_model(fx)
    check_on_cpu(model)
    input_ids = make_input_ids(fx, model.config.vocab_size)
    hidden = final_hidden_states(model, input_ids)

    save_hf(model, directory, **fx.save_kwargs)
    if fx.save_kwargs.get("max_shard_size"):
        shards = sorted(f for f in os.listdir(directory) if f.endswith(".safetensors"))
        index = os.path.join(directory, "model.safetensors.index.json")
        if len(shards) < 2 or not os.path.exists(index):
            raise RuntimeError(f"{fx.name}: expected >= 2 shards and an index, got {shards}")
    save_reference(directory, input_ids, hidden)

    # Self-check: the saved directory reloads through from_pretrained to the same output.
    cls = MambaForCausalLM if fx.causal_lm else MambaModel
    reloaded = cls.from_pretrained(directory).eval()
    check_same(fx.name, final_hidden_states(reloaded, input_ids), hidden)
    describe(fx.name, input_ids, hidden, "from_pretrained reload identical")


def make_ssm_naming_fixture(fx, outdir):
    directory = os.path.join(outdir, fx.name)
    os.makedirs(directory)
    model = build_model(fx)
    check_on_cpu(model)
    input_ids = make_input_ids(fx, SSM_NAMING_CONFIG["vocab_size"])
    hidden = final_hidden_states(model, input_ids)

    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(SSM_NAMING_CONFIG, f, indent=2)
        f.write("\n")
    weights = os.path.join(directory, "model.safetensors")
    safetensors.torch.save_file(to_mamba_ssm_state_dict(model), weights, metadata={"format": "pt"})
    save_reference(directory, input_ids, hidden)

    # Self-check: the renamed tensors load back strictly into the HF model, same output.
    fresh = MambaForCausalLM(build_config(fx)).eval()
    renamed = from_mamba_ssm_state_dict(safetensors.torch.load_file(weights))
    fresh.load_state_dict(renamed, strict=True)
    check_same(fx.name, final_hidden_states(fresh, input_ids), hidden)
    describe(fx.name, input_ids, hidden, "renamed-tensor reload identical")


def make_demo_model(fx, outdir):
    directory = os.path.join(outdir, fx.name)
    os.makedirs(directory)
    model = build_model(fx)
    save_hf(model, directory)

    config_path = os.path.join(directory, "config.json")
    with open(config_path) as f:
        config = json.load(f)
    config["mambaflow"] = DEMO_NOTE
    with open(config_path, "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")

    input_ids = make_input_ids(fx, model.config.vocab_size)
    expected = final_hidden_states(model, input_ids)
    reloaded = MambaForCausalLM.from_pretrained(directory).eval()
    check_same(fx.name, final_hidden_states(reloaded, input_ids), expected)
    print(f"{fx.name}: MambaForCausalLM.from_pretrained OK", flush=True)


def write_versions(outdir):
    lines = [
        f"python {platform.python_version()}",
        f"torch {torch.__version__}",
        f"transformers {transformers.__version__}",
        f"safetensors {safetensors.__version__}",
        "device cpu, dtype float32, pure-PyTorch Mamba (no mamba_ssm / causal_conv1d),"
        " sequential scan (use_associative_scan=False)",
    ]
    with open(os.path.join(outdir, "versions.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines), flush=True)


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    outdir = argv[1]
    if os.path.exists(outdir) and os.listdir(outdir):
        print(f"refusing to write into non-empty {outdir}", file=sys.stderr)
        return 2
    os.makedirs(outdir, exist_ok=True)

    torch.set_default_dtype(torch.float32)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)

    check_pure_pytorch()
    write_versions(outdir)
    for fx in FIXTURES:
        make_hf_fixture(fx, outdir)
    make_ssm_naming_fixture(SSM_NAMING, outdir)
    make_demo_model(DEMO, outdir)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
