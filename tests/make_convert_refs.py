#!/usr/bin/python3
"""make_convert_refs.py — reference values for the llq-convert tests on the pydoc-7m model, computed by PyTorch.

Run with Debian's python3 (python3-torch): /usr/bin/python3 tests/make_convert_refs.py [SHARED_DIR]
Writes tests/fixtures/convert/pydoc-7m.refs: for every canonical tensor of each source variant, the tensor type
llq-convert writes by default (matrices keep the source precision, 1-D tensors become f32), the shape, the CRC-32
of the canonical bytes and a few sampled values (as f32 bit patterns). Hugging Face q/k rows are un-permuted here
with torch's own view/transpose (the inverse of transformers' permute), independently of the C code.

Variants: meta-bf16 (models/pydoc-7m/consolidated.00.pth, in the repo), and, when SHARED_DIR (default
/work/shared/models/pydoc-7m) exists: hf-safetensors (hf/model.safetensors), hf-bin (hf/pytorch_model.bin, f16),
meta-fp32 (meta/consolidated.fp32.pth).
"""
import json
import os
import struct
import sys
import zlib

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/models/pydoc-7m"
OUT = os.path.join(ROOT, "tests", "fixtures", "convert", "pydoc-7m.refs")

HF_LAYER = [  # canonical per-layer name, Hugging Face name
    ("attention_norm", "input_layernorm"), ("attention.wq", "self_attn.q_proj"), ("attention.wk", "self_attn.k_proj"),
    ("attention.wv", "self_attn.v_proj"), ("attention.wo", "self_attn.o_proj"), ("ffn_norm", "post_attention_layernorm"),
    ("feed_forward.w1", "mlp.gate_proj"), ("feed_forward.w2", "mlp.down_proj"), ("feed_forward.w3", "mlp.up_proj"),
]


def canonical_names(n_layers):
    names = ["tok_embeddings.weight"]
    for l in range(n_layers):
        names += ["layers.%d.%s.weight" % (l, c) for c, _ in HF_LAYER]
    return names + ["norm.weight", "output.weight"]


def hf_name(canon):
    if canon == "tok_embeddings.weight":
        return "model.embed_tokens.weight"
    if canon == "norm.weight":
        return "model.norm.weight"
    if canon == "output.weight":
        return "lm_head.weight"
    _, l, rest = canon.split(".", 2)
    for c, h in HF_LAYER:
        if rest == c + ".weight":
            return "model.layers.%s.%s.weight" % (l, h)
    raise KeyError(canon)


def unpermute(w, n_heads):
    """Inverse of transformers' permute: w.view(h, d1//h//2, 2, d2).transpose(1, 2).reshape(d1, d2)."""
    d1, d2 = w.shape
    return w.view(n_heads, 2, d1 // n_heads // 2, d2).transpose(1, 2).reshape(d1, d2)


def load_safetensors(path):
    dt = {"BF16": torch.bfloat16, "F16": torch.float16, "F32": torch.float32}
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        raw = torch.from_numpy(np.frombuffer(data[a:b], dtype=np.uint8).copy())
        out[name] = raw.view(dt[info["dtype"]]).reshape(info["shape"])
    return out


def canonical(sd, layout, hp):
    out = {}
    for name in canonical_names(hp["n_layers"]):
        if layout == "meta":
            t = sd[name]
        else:
            t = sd[hf_name(name)]
            if name.endswith("attention.wq.weight"):
                t = unpermute(t, hp["n_heads"])
            elif name.endswith("attention.wk.weight"):
                t = unpermute(t, hp["n_kv_heads"])
        if t.dim() == 1 or t.dtype == torch.float64:
            t = t.float()  # llq-convert's default: 1-D tensors (and f64) become f32
        out[name] = t.contiguous()
    return out


def record(lines, variant, tensors):
    tname = {torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16"}
    for name, t in tensors.items():
        raw = t.view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        flat = t.float().flatten()
        n = flat.numel()
        idx = sorted({0, n // 3, (2 * n) // 3 + 1, n - 1})
        samples = " ".join("%d:%08x" % (i, struct.unpack("<I", struct.pack("<f", flat[i].item()))[0]) for i in idx)
        shape = "x".join(str(d) for d in t.shape)
        lines.append("%s %s %s %s %08x %s" % (variant, name, tname[t.dtype], shape, zlib.crc32(raw), samples))


def main():
    repo = os.path.join(ROOT, "models", "pydoc-7m")
    with open(os.path.join(repo, "params.json")) as f:
        hp = json.load(f)
    hp.setdefault("n_kv_heads", hp["n_heads"])
    lines = ["# pydoc-7m.refs — written by tests/make_convert_refs.py (PyTorch %s); do not edit." % torch.__version__,
             "# variant canonical-name type shape crc32-of-canonical-bytes index:f32-bits ..."]
    record(lines, "meta-bf16", canonical(torch.load(os.path.join(repo, "consolidated.00.pth"), map_location="cpu"),
                                         "meta", hp))
    if os.path.isdir(SHARED):
        record(lines, "hf-safetensors",
               canonical(load_safetensors(os.path.join(SHARED, "hf", "model.safetensors")), "hf", hp))
        record(lines, "hf-bin", canonical(torch.load(os.path.join(SHARED, "hf", "pytorch_model.bin"),
                                                     map_location="cpu"), "hf", hp))
        record(lines, "meta-fp32", canonical(torch.load(os.path.join(SHARED, "meta", "consolidated.fp32.pth"),
                                                        map_location="cpu"), "meta", hp))
    else:
        print("note: %s absent; only the meta-bf16 references written" % SHARED)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %s (%d tensors)" % (OUT, len(lines) - 2))


if __name__ == "__main__":
    main()
