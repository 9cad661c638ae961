#!/usr/bin/env python3
"""Side-by-side baseline: transformers' own Mamba on the GPU, same weights as mambaflow.

Usage (on the GPU machine, where torch and transformers are installed):
    python3 bench/transformers_compare.py OUTDIR [--tokens 8192]
    mambaflow bench --device cuda --compare OUTDIR/model

Writes OUTDIR/model: a 130m-shape MambaModel (d_model 768, 24 layers, d_state 16, expand 2,
vocab 50280) with seeded random weights, and reference.safetensors holding `input_ids`
[L] and `last_hidden_state` [L, 768] computed by transformers in float32 on the GPU. Prints
transformers' tokens/s for one sequence of L tokens in float32 and bfloat16 (best of 3
after a warm-up; model already on the GPU, hidden states moved to host memory, as mambaflow's
figure includes). Whichever Mamba path transformers takes here is printed: without the
mamba_ssm / causal_conv1d packages it runs its pure-PyTorch path.
"""
import argparse
import os
import time

import torch
from safetensors.torch import save_file
from transformers import MambaConfig, MambaModel


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--tokens", type=int, default=8192)
    args = ap.parse_args()
    torch.manual_seed(0)
    cfg = MambaConfig(vocab_size=50280, hidden_size=768, state_size=16, num_hidden_layers=24,
                      expand=2, conv_kernel=4, time_step_rank="auto", use_bias=False,
                      use_conv_bias=True, residual_in_fp32=True, layer_norm_epsilon=1e-5)
    model = MambaModel(cfg).eval()
    with torch.no_grad():  # move parameters away from their defaults, as the fixtures do
        for layer in model.layers:
            mx = layer.mixer
            mx.A_log.copy_(torch.log(torch.empty_like(mx.A_log).uniform_(0.5, 16)))
            mx.D.copy_(torch.randn_like(mx.D) * 0.5 + 1)
            layer.norm.weight.uniform_(0.5, 1.5)
        model.norm_f.weight.uniform_(0.5, 1.5)
    mdir = os.path.join(args.outdir, "model")
    model.save_pretrained(mdir, safe_serialization=True)

    dev = torch.device("cuda")
    ids = torch.randint(0, cfg.vocab_size, (1, args.tokens))
    try:
        import mamba_ssm  # noqa: F401
        fast = True
    except ImportError:
        fast = False
    print(f"transformers Mamba path: {'mamba_ssm CUDA kernels' if fast else 'pure PyTorch (no mamba_ssm)'}")
    results = {}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        m = model.to(dev, dtype)
        x = ids.to(dev)
        with torch.no_grad():
            out = m(input_ids=x, use_cache=False).last_hidden_state.float().cpu()  # warm-up
            best = 1e30
            for _ in range(3):
                torch.cuda.synchronize()
                t0 = time.perf_counter()
                out = m(input_ids=x, use_cache=False).last_hidden_state.float().cpu()
                best = min(best, time.perf_counter() - t0)
        results[name] = out
        print(f"transformers {name}: {args.tokens} tokens in {best:.4f} s = {args.tokens / best:.0f} tokens/s")
    save_file({"input_ids": ids[0].contiguous(), "last_hidden_state": results["fp32"][0].contiguous()},
              os.path.join(mdir, "reference.safetensors"))
    print("bf16 vs fp32 (transformers):", float((results["bf16"] - results["fp32"]).abs().max()))


if __name__ == "__main__":
    main()
