#!/usr/bin/python3
"""make_eval_refs.py — a tiny random LLaMA and PyTorch's logits for it (tests/unit/test_model.c).

Run with Debian's python3-torch: /usr/bin/python3 tests/make_eval_refs.py
Writes tests/fixtures/eval/:
  tiny_tokens.u32 the N token ids of the test sequence (first is BOS = 1)
  tiny_logits.f32 [N][vocab] logits of the f32 weights, computed in float32 (Meta's reference model code)
  tiny_logits_bf16.f32  the same with every weight rounded to bf16 first
  tiny_nll.txt    total NLL (log-softmax in float64) of positions 0..N-2 predicting 1..N-1, f32 and bf16 weights
  tiny.llq        the f32 weights (canonical Meta names and q/k row order) as a .llq (written here from docs/FORMAT.md, independently of format/write.c;
                  no tokenizer), context_length 64
  bad_heads.llq, bad_missing.llq, bad_shape.llq: micro models (dim 8) with inconsistent metadata
                  (8 heads of 3 dims), a missing tensor (layers.0.feed_forward.w2.weight), a wrong shape (wk)
Hyper-parameters (mirrored in test_model.c): dim 64, 2 layers, 4 heads, 2 kv heads, ffn 160, vocab 256,
norm_eps 1e-5, rope_theta 10000, N = 40.
"""
import os
import struct
import zlib

import torch
import torch.nn.functional as F

DIM, LAYERS, HEADS, KV_HEADS, FFN, VOCAB, EPS, THETA, N = 64, 2, 4, 2, 160, 256, 1e-5, 10000.0, 40
HD = DIM // HEADS
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "eval")


def weights():
    g = torch.Generator().manual_seed(1234)

    def lin(o, i):
        return torch.randn(o, i, generator=g) / i ** 0.5

    def norm():
        return 1.0 + 0.2 * torch.randn(DIM, generator=g)

    w = [("tok_embeddings", torch.randn(VOCAB, DIM, generator=g))]
    for l in range(LAYERS):
        w += [(f"layers.{l}.attention_norm", norm()), (f"layers.{l}.attention.wq", lin(HEADS * HD, DIM)),
              (f"layers.{l}.attention.wk", lin(KV_HEADS * HD, DIM)), (f"layers.{l}.attention.wv", lin(KV_HEADS * HD, DIM)),
              (f"layers.{l}.attention.wo", lin(DIM, HEADS * HD)), (f"layers.{l}.ffn_norm", norm()),
              (f"layers.{l}.feed_forward.w1", lin(FFN, DIM)), (f"layers.{l}.feed_forward.w2", lin(DIM, FFN)),
              (f"layers.{l}.feed_forward.w3", lin(FFN, DIM))]
    w += [("norm", norm()), ("output", lin(VOCAB, DIM))]
    return w


def rmsnorm(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * w


def forward(W, tokens):
    n = len(tokens)
    freqs = 1.0 / (THETA ** (torch.arange(0, HD, 2)[: HD // 2].float() / HD))
    cis = torch.polar(torch.ones(n, HD // 2), torch.outer(torch.arange(n).float(), freqs))

    def rope(x):  # x [n, heads, HD], Meta's interleaved pairs
        xc = torch.view_as_complex(x.reshape(*x.shape[:-1], -1, 2))
        return torch.view_as_real(xc * cis[:, None, :]).flatten(2)

    x = W["tok_embeddings"][torch.tensor(tokens)]
    mask = torch.full((n, n), float("-inf")).triu(1)
    for l in range(LAYERS):
        p = f"layers.{l}."
        h = rmsnorm(x, W[p + "attention_norm"])
        q = rope((h @ W[p + "attention.wq"].T).view(n, HEADS, HD))
        k = rope((h @ W[p + "attention.wk"].T).view(n, KV_HEADS, HD))
        v = (h @ W[p + "attention.wv"].T).view(n, KV_HEADS, HD)
        k = k.repeat_interleave(HEADS // KV_HEADS, dim=1)
        v = v.repeat_interleave(HEADS // KV_HEADS, dim=1)
        s = (q.transpose(0, 1) @ k.transpose(0, 1).transpose(1, 2)) / HD ** 0.5 + mask
        a = (F.softmax(s.float(), dim=-1) @ v.transpose(0, 1)).transpose(0, 1).reshape(n, DIM)
        x = x + a @ W[p + "attention.wo"].T
        h = rmsnorm(x, W[p + "ffn_norm"])
        x = x + (F.silu(h @ W[p + "feed_forward.w1"].T) * (h @ W[p + "feed_forward.w3"].T)) @ W[p + "feed_forward.w2"].T
    return rmsnorm(x, W["norm"]) @ W["output"].T


def nll(logits, tokens):
    lp = torch.log_softmax(logits.double(), dim=-1)
    return -sum(lp[t, tokens[t + 1]].item() for t in range(len(tokens) - 1))


def write_llq(path, hp, tensors):
    """Minimal .llq writer (docs/FORMAT.md v1.0): f32 tensors, u32/f32/string metadata."""
    meta = [("general.architecture", 8, b"llama")]
    for k in ("dim", "n_layers", "n_heads", "n_kv_heads", "ffn_dim", "vocab_size", "context_length"):
        meta.append(("llama." + k, 1, struct.pack("<I", hp[k])))
    meta += [("llama.norm_eps", 5, struct.pack("<f", EPS)), ("llama.rope_theta", 5, struct.pack("<f", THETA))]
    data, table = bytearray(128), []
    for name, t in tensors:
        data += bytes(-len(data) % 64)
        b = t.contiguous().numpy().astype("<f4").tobytes()
        table.append((name, list(t.shape), zlib.crc32(b), len(data), len(b)))
        data += b
    ms = struct.pack("<I", len(meta)) + b"".join(
        struct.pack("<I", len(k)) + k.encode() + struct.pack("<IQ", ty, len(v)) + v for k, ty, v in meta)
    tb = b"".join(struct.pack("<I", len(n)) + n.encode() + struct.pack("<II", 0, len(d)) +
                  b"".join(struct.pack("<Q", x) for x in d) + struct.pack("<IIQQ", 0, c, o, sz)
                  for n, d, c, o, sz in table)
    mo, to = len(data), len(data) + len(ms)
    h = b"\x89LLQ\r\n\x1a\n" + struct.pack("<IIQQQQQIIII", 1, 0, to + len(tb), mo, len(ms), to, len(tb), len(table),
                                            zlib.crc32(ms), zlib.crc32(tb), 0) + bytes(52)
    data[:128] = h + struct.pack("<I", zlib.crc32(h))
    with open(path, "wb") as f:
        f.write(bytes(data) + ms + tb)


def micro(heads=2, drop=None, bad=None):
    """dim 8, 1 layer, vocab 16 model with one defect."""
    g = torch.Generator().manual_seed(5)
    hd = 8 // heads
    shapes = [("tok_embeddings.weight", (16, 8)), ("layers.0.attention_norm.weight", (8,)),
              ("layers.0.attention.wq.weight", (8, 8)), ("layers.0.attention.wk.weight", (4, 8)),
              ("layers.0.attention.wv.weight", (4, 8)), ("layers.0.attention.wo.weight", (8, 8)),
              ("layers.0.ffn_norm.weight", (8,)), ("layers.0.feed_forward.w1.weight", (16, 8)),
              ("layers.0.feed_forward.w2.weight", (8, 16)), ("layers.0.feed_forward.w3.weight", (16, 8)),
              ("norm.weight", (8,)), ("output.weight", (16, 8))]
    out = []
    for n, shp in shapes:
        if n == drop:
            continue
        if n == bad:
            shp = (shp[0] + 1,) + shp[1:]
        out.append((n, torch.randn(*shp, generator=g)))
    hp = dict(dim=8, n_layers=1, n_heads=heads, n_kv_heads=heads // 2 if heads % 2 == 0 else heads,
              ffn_dim=16, vocab_size=16, context_length=32)
    return hp, out


def main():
    os.makedirs(OUT, exist_ok=True)
    w = weights()
    g = torch.Generator().manual_seed(99)
    tokens = [1] + torch.randint(3, VOCAB, (N - 1,), generator=g).tolist()
    with open(os.path.join(OUT, "tiny_tokens.u32"), "wb") as f:
        f.write(struct.pack("<%dI" % N, *tokens))
    W = dict(w)
    Wb = {k: v.to(torch.bfloat16).float() for k, v in w}
    lf, lb = forward(W, tokens), forward(Wb, tokens)
    for name, lg in (("tiny_logits.f32", lf), ("tiny_logits_bf16.f32", lb)):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(lg.contiguous().numpy().astype("<f4").tobytes())
    with open(os.path.join(OUT, "tiny_nll.txt"), "w") as f:
        f.write("%.17g %.17g\n" % (nll(lf, tokens), nll(lb, tokens)))
    hp = dict(dim=DIM, n_layers=LAYERS, n_heads=HEADS, n_kv_heads=KV_HEADS, ffn_dim=FFN, vocab_size=VOCAB,
              context_length=64)
    write_llq(os.path.join(OUT, "tiny.llq"), hp, [(n + ("" if n.endswith(".weight") else ".weight"), t) for n, t in w])
    write_llq(os.path.join(OUT, "bad_heads.llq"), *micro(heads=3))
    write_llq(os.path.join(OUT, "bad_missing.llq"), *micro(drop="layers.0.feed_forward.w2.weight"))
    write_llq(os.path.join(OUT, "bad_shape.llq"), *micro(bad="layers.0.attention.wk.weight"))


if __name__ == "__main__":
    main()
