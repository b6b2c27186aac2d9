#!/usr/bin/python3
"""make_eval_refs.py — a tiny random LLaMA and PyTorch's logits for it (tests/unit/test_model.c).

Run with Debian's python3-torch: /usr/bin/python3 tests/make_eval_refs.py
Writes tests/fixtures/eval/:
  tiny.f32        every tensor as little-endian f32, in this order: tok_embeddings; per layer attention_norm, wq, wk,
                  wv, wo, ffn_norm, w1, w2, w3; norm; output (canonical Meta names and row order, docs/FORMAT.md)
  tiny_tokens.u32 the N token ids of the test sequence (first is BOS = 1)
  tiny_logits.f32 [N][vocab] logits of the f32 weights, computed in float32 (Meta's reference model code)
  tiny_logits_bf16.f32  the same with every weight rounded to bf16 first
  tiny_nll.txt    total NLL (log-softmax in float64) of positions 0..N-2 predicting 1..N-1, f32 and bf16 weights
Hyper-parameters (mirrored in test_model.c): dim 64, 2 layers, 4 heads, 2 kv heads, ffn 160, vocab 256,
norm_eps 1e-5, rope_theta 10000, N = 40.
"""
import os
import struct

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


def main():
    os.makedirs(OUT, exist_ok=True)
    w = weights()
    with open(os.path.join(OUT, "tiny.f32"), "wb") as f:
        for _, t in w:
            f.write(t.contiguous().numpy().astype("<f4").tobytes())
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


if __name__ == "__main__":
    main()
