#!/usr/bin/env python3
"""Write a Mamba model with random weights (and optionally a random task head) in the
model format mambaflow reads (transformers' layout: config.json + model.safetensors).

For benchmarks and plumbing only: the weights are random, so the outputs mean nothing.
Python standard library only (no numpy, torch or safetensors needed).

Usage:
    tools/make_random_model.py OUT [--d-model 128] [--layers 4] [--vocab 256]
        [--task embed|classify|tag|transcribe] [--tokenizer dna|mulaw] [--sample-rate 16000]
        [--labels a,b,c] [--window N] [--stride N] [--seed 1]

Examples:
    tools/make_random_model.py /tmp/audio-tag --vocab 256 --tokenizer mulaw --task tag \\
        --labels speech,music,noise --window 1600
"""
import argparse
import json
import math
import os
import random
import struct


def tensor(shape, gen):
    n = 1
    for s in shape:
        n *= s
    return shape, [gen() for _ in range(n)]


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        shape, values = tensors[name]
        blob = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * ((8 - len(head) % 8) % 8)
    tmp = path + ".partial"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--d-state", type=int, default=16)
    ap.add_argument("--vocab", type=int, default=12)
    ap.add_argument("--task", default="embed", choices=["embed", "classify", "tag", "transcribe"])
    ap.add_argument("--tokenizer", default="dna", choices=["dna", "mulaw"])
    ap.add_argument("--sample-rate", type=int, default=16000)
    ap.add_argument("--labels", default="")
    ap.add_argument("--window", type=int, default=0)
    ap.add_argument("--stride", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    rng = random.Random(a.seed)
    D, N = a.d_model, a.d_state
    DI, K, R = 2 * D, 4, (D + 15) // 16
    t = {}
    t["backbone.embeddings.weight"] = tensor([a.vocab, D], lambda: rng.gauss(0, 1))
    t["backbone.norm_f.weight"] = tensor([D], lambda: 1.0)
    for l in range(a.layers):
        p = "backbone.layers.%d." % l
        t[p + "norm.weight"] = tensor([D], lambda: 1.0)
        t[p + "mixer.in_proj.weight"] = tensor([2 * DI, D], lambda: rng.gauss(0, 1 / math.sqrt(D)))
        t[p + "mixer.conv1d.weight"] = tensor([DI, 1, K], lambda: rng.gauss(0, 1 / math.sqrt(K)))
        t[p + "mixer.conv1d.bias"] = tensor([DI], lambda: rng.gauss(0, 0.1))
        t[p + "mixer.x_proj.weight"] = tensor([R + 2 * N, DI], lambda: rng.gauss(0, 1 / math.sqrt(DI)))
        t[p + "mixer.dt_proj.weight"] = tensor([DI, R], lambda: rng.gauss(0, 1 / math.sqrt(R)))
        # softplus(bias) = dt in [1e-3, 1e-1], as Mamba initialises it
        t[p + "mixer.dt_proj.bias"] = tensor(
            [DI], lambda: (lambda dt: dt + math.log(-math.expm1(-dt)))(math.exp(rng.uniform(math.log(1e-3), math.log(1e-1)))))
        a_log = [math.log(n + 1) for _ in range(DI) for n in range(N)]
        t[p + "mixer.A_log"] = ([DI, N], a_log)
        t[p + "mixer.D"] = tensor([DI], lambda: 1.0)
        t[p + "mixer.out_proj.weight"] = tensor([D, DI], lambda: rng.gauss(0, 1 / math.sqrt(DI) / math.sqrt(a.layers)))
    labels = [s for s in a.labels.split(",") if s]
    task = {"task": a.task, "tokenizer": a.tokenizer,
            "note": "random weights, for benchmarks and plumbing only; not a trained model"}
    if a.tokenizer == "mulaw":
        task["sample_rate"] = a.sample_rate
    if a.task != "embed":
        if not labels or a.window <= 0:
            ap.error("--task %s needs --labels and --window" % a.task)
        task.update({"labels": labels, "window": a.window, "stride": a.stride or a.window})
        t["head.weight"] = tensor([len(labels), D], lambda: rng.gauss(0, 1 / math.sqrt(D)))
        t["head.bias"] = tensor([len(labels)], lambda: 0.0)
    os.makedirs(a.out, exist_ok=True)
    cfg = {"architectures": ["MambaForCausalLM"], "model_type": "mamba", "hidden_size": D,
           "num_hidden_layers": a.layers, "state_size": N, "intermediate_size": DI, "conv_kernel": K,
           "time_step_rank": R, "vocab_size": a.vocab, "layer_norm_epsilon": 1e-5, "use_bias": False,
           "use_conv_bias": True, "residual_in_fp32": True, "mambaflow": task}
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    write_safetensors(os.path.join(a.out, "model.safetensors"), t)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
