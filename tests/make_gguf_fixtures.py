#!/usr/bin/python3
"""make_gguf_fixtures.py — writes tests/fixtures/gguf/: the tiny model of tests/fixtures/eval/tiny.llq as GGUF files
written by this independent writer from ggml's docs/gguf.md (so the C reader is checked against the spec, not
against llq's own writer), in F32 (v3 and v2), Q8_0 and Q4_0 (quantized here by ggml's reference rules), with the
dequantized values the C reader must give, and corrupt variants of the F32 file, one defect each (hostile.txt lists
each file with the error code and a piece of the message the reader must give). numpy (Debian python3-numpy).
Run from the repository root:

    /usr/bin/python3 tests/make_gguf_fixtures.py
"""
import os
import struct

import numpy as np

ROOT = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(ROOT, "fixtures", "gguf")
TINY = os.path.join(ROOT, "fixtures", "eval", "tiny.llq")

GV_U32, GV_I32, GV_F32, GV_BOOL, GV_STR, GV_ARR = 4, 5, 6, 7, 8, 9
F32, Q4_0, Q8_0 = 0, 2, 8


def read_llq(path):
    """(metadata dict of u32/f32/str values, [(name, np.float32 array)]) of an all-f32 .llq file (docs/FORMAT.md)."""
    b = open(path, "rb").read()
    moff, msize, toff, tsize = struct.unpack_from("<QQQQ", b, 24)
    (nt,) = struct.unpack_from("<I", b, 56)
    meta, o = {}, moff
    (n,) = struct.unpack_from("<I", b, o)
    o += 4
    for _ in range(n):
        (kl,) = struct.unpack_from("<I", b, o)
        k = b[o + 4:o + 4 + kl].decode()
        o += 4 + kl
        vt, vs = struct.unpack_from("<IQ", b, o)
        o += 12
        v = b[o:o + vs]
        o += vs
        meta[k] = (vt, v)
    out, o = [], toff
    for _ in range(nt):
        (nl,) = struct.unpack_from("<I", b, o)
        name = b[o + 4:o + 4 + nl].decode()
        o += 4 + nl
        ttype, nd = struct.unpack_from("<II", b, o)
        o += 8
        dims = struct.unpack_from("<%dQ" % nd, b, o)
        o += 8 * nd
        group, crc, off, size = struct.unpack_from("<IIQQ", b, o)
        o += 24
        assert ttype == 0
        out.append((name, np.frombuffer(b[off:off + size], dtype="<f4").reshape(dims).copy()))
    return meta, out


def gguf_name(n):
    glob = {"tok_embeddings.weight": "token_embd.weight", "norm.weight": "output_norm.weight",
            "output.weight": "output.weight", "rope_freqs.weight": "rope_freqs.weight"}
    if n in glob:
        return glob[n]
    per = {"attention_norm.weight": "attn_norm.weight", "attention.wq.weight": "attn_q.weight",
           "attention.wk.weight": "attn_k.weight", "attention.wv.weight": "attn_v.weight",
           "attention.wo.weight": "attn_output.weight", "ffn_norm.weight": "ffn_norm.weight",
           "feed_forward.w1.weight": "ffn_gate.weight", "feed_forward.w2.weight": "ffn_down.weight",
           "feed_forward.w3.weight": "ffn_up.weight", "attention.wq.bias": "attn_q.bias"}
    _, layer, rest = n.split(".", 2)
    return "blk.%s.%s" % (layer, per[rest])


def f16(x):
    return np.float32(np.float16(x))


def q8_0(x):
    """ggml quantize_row_q8_0_ref: d = amax/127 (f16), q = round(x/d) half away from zero."""
    blocks, deq = b"", []
    for blk in x.reshape(-1, 32):
        amax = float(np.max(np.abs(blk)))
        d = np.float32(amax / 127.0)
        idv = np.float32(1.0) / d if d else np.float32(0)
        q = np.array([int(np.sign(v) * np.floor(abs(v) + 0.5)) for v in (blk * idv).astype(np.float32)], dtype=np.int8)
        blocks += np.float16(d).tobytes() + q.tobytes()
        deq.append(f16(d) * q.astype(np.float32))
    return blocks, np.concatenate(deq).astype(np.float32)


def q4_0(x):
    """ggml quantize_row_q4_0_ref: max = the value of largest |x|, d = max/-8 (f16), q = min(15, int(x/d + 8.5));
    bytes: element i in the low nibble of byte i, element i+16 in its high nibble."""
    blocks, deq = b"", []
    for blk in x.reshape(-1, 32):
        mx = blk[np.argmax(np.abs(blk))]
        d = np.float32(mx / -8.0)
        idv = np.float32(1.0) / d if d else np.float32(0)
        q = np.minimum(15, (blk * idv + np.float32(8.5)).astype(np.float32).astype(np.int8)).astype(np.uint8)
        blocks += np.float16(d).tobytes() + (q[:16] | (q[16:] << 4)).astype(np.uint8).tobytes()
        deq.append(f16(d) * (q.astype(np.float32) - 8))
    return blocks, np.concatenate(deq).astype(np.float32)


def s(x):
    x = x.encode() if isinstance(x, str) else x
    return struct.pack("<Q", len(x)) + x


def kv(key, vt, payload):
    return s(key) + struct.pack("<I", vt) + payload


def tokenizer_kv():
    """A small SentencePiece vocabulary as llama.cpp stores it (model "llama"): 3 control/unknown pieces, the 256
    byte pieces, a few merges."""
    pieces = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % i for i in range(256)] + \
        ["\u2581", "\u2581a", "\u2581b", "ab", "\u2581ab", "c"]
    types = [2, 3, 3] + [6] * 256 + [1] * 6
    scores = [0.0] * 259 + [-1.0, -2.0, -3.0, -4.0, -5.0, -6.0]
    toks = b"".join(s(p) for p in pieces)
    return [kv("tokenizer.ggml.model", GV_STR, s("llama")),
            kv("tokenizer.ggml.tokens", GV_ARR, struct.pack("<IQ", GV_STR, len(pieces)) + toks),
            kv("tokenizer.ggml.scores", GV_ARR, struct.pack("<IQ", GV_F32, len(pieces)) +
               struct.pack("<%df" % len(scores), *scores)),
            kv("tokenizer.ggml.token_type", GV_ARR, struct.pack("<IQ", GV_I32, len(pieces)) +
               struct.pack("<%di" % len(types), *types)),
            kv("tokenizer.ggml.bos_token_id", GV_U32, struct.pack("<I", 1)),
            kv("tokenizer.ggml.eos_token_id", GV_U32, struct.pack("<I", 2))]


def build(meta, tensors, qtype=F32, version=3, extra_kv=b"", n_extra=0, align=32):
    """GGUF bytes; tensors in llama.cpp's names, matrices as qtype; returns (bytes, dequantized values in order)."""
    u32 = lambda k: struct.unpack("<I", meta[k][1])[0]
    f32 = lambda k: struct.unpack("<f", meta[k][1])[0]
    kvs = [kv("general.architecture", GV_STR, s("llama")),
           kv("general.name", GV_STR, s("tiny")),
           kv("llama.embedding_length", GV_U32, struct.pack("<I", u32("llama.dim"))),
           kv("llama.block_count", GV_U32, struct.pack("<I", u32("llama.n_layers"))),
           kv("llama.attention.head_count", GV_U32, struct.pack("<I", u32("llama.n_heads"))),
           kv("llama.attention.head_count_kv", GV_U32, struct.pack("<I", u32("llama.n_kv_heads"))),
           kv("llama.feed_forward_length", GV_U32, struct.pack("<I", u32("llama.ffn_dim"))),
           kv("llama.context_length", GV_U32, struct.pack("<I", u32("llama.context_length"))),
           kv("llama.attention.layer_norm_rms_epsilon", GV_F32, struct.pack("<f", f32("llama.norm_eps"))),
           kv("llama.rope.freq_base", GV_F32, struct.pack("<f", f32("llama.rope_theta"))),
           kv("general.file_type", GV_U32, struct.pack("<I", {F32: 0, Q8_0: 7, Q4_0: 2}[qtype]))]
    head = b"".join(kvs) + extra_kv
    infos, datas, deq, off = b"", [], [], 0
    for name, a in tensors:
        t = qtype if a.ndim == 2 else F32
        if t == F32:
            data, dq = a.astype("<f4").tobytes(), a.reshape(-1)
        else:
            data, dq = (q8_0 if t == Q8_0 else q4_0)(a.reshape(-1))
        ne = list(reversed(a.shape))
        infos += s(gguf_name(name)) + struct.pack("<I", len(ne)) + struct.pack("<%dQ" % len(ne), *ne) + \
            struct.pack("<IQ", t, off)
        datas.append(data)
        deq.append(dq)
        off += (len(data) + align - 1) // align * align
    out = struct.pack("<4sIQQ", b"GGUF", version, len(tensors), len(kvs) + n_extra) + head + infos
    out += b"\0" * ((-len(out)) % align)
    for d in datas:
        out += d + b"\0" * ((-len(d)) % align)
    return out, np.concatenate(deq).astype("<f4")


def u32m(meta, k):
    return struct.unpack("<I", meta[k][1])[0]


def main():
    os.makedirs(OUT, exist_ok=True)
    meta, tensors = read_llq(TINY)
    for fname, qt, ver in (("tiny-f32.gguf", F32, 3), ("tiny-q8_0.gguf", Q8_0, 3), ("tiny-q4_0.gguf", Q4_0, 3)):
        b, dq = build(meta, tensors, qt, ver)
        open(os.path.join(OUT, fname), "wb").write(b)
        if qt != F32:
            open(os.path.join(OUT, fname.replace(".gguf", ".dequant.f32")), "wb").write(dq.tobytes())

    # the corrupt files start from a small valid file: a few cut-down tensors (names known, shapes not checked at open)
    small = [(n, a[:4, :32].copy() if a.ndim == 2 else a[:32].copy()) for n, a in tensors
             if n in ("tok_embeddings.weight", "layers.0.attention_norm.weight", "layers.0.attention.wq.weight",
                      "layers.0.attention.wk.weight")]
    tensors = small
    good, _ = build(meta, tensors)
    open(os.path.join(OUT, "small.gguf"), "wb").write(good)
    open(os.path.join(OUT, "small-v2.gguf"), "wb").write(build(meta, tensors, version=2)[0])
    tk = tokenizer_kv()
    open(os.path.join(OUT, "small-tok.gguf"), "wb").write(build(meta, tensors, extra_kv=b"".join(tk), n_extra=len(tk))[0])
    ninfo_at = 16  # u64 n_kv at 16, n_tensors at 8
    hostile = []

    def bad(name, data, code, msg):
        open(os.path.join(OUT, name), "wb").write(data)
        hostile.append("%s %s %s" % (name, code, msg))

    first_key = 24  # the first key's u64 length
    bad("bad-truncated-header.gguf", good[:20], "EFORMAT", "shorter than the GGUF header")
    bad("bad-truncated-data.gguf", good[:len(good) - 100], "EFORMAT", "runs past the end of the file")
    bad("bad-version1.gguf", good[:4] + struct.pack("<I", 1) + good[8:], "EUNSUPPORTED", "version 1")
    bad("bad-version9.gguf", good[:4] + struct.pack("<I", 9) + good[8:], "EVERSION", "GGUF version 9")
    bad("bad-n-kv-huge.gguf", good[:16] + struct.pack("<Q", 1 << 62) + good[24:], "EFORMAT", "metadata pairs cannot fit")
    bad("bad-n-tensors-huge.gguf", good[:8] + struct.pack("<Q", (1 << 64) - 1) + good[16:], "EFORMAT",
        "tensor infos cannot fit")
    bad("bad-key-len-huge.gguf", good[:first_key] + struct.pack("<Q", (1 << 64) - 2) + good[first_key + 8:],
        "EFORMAT", "key")
    # the general.name string (second pair) claims 2^63 bytes
    k1 = first_key + 8 + len("general.architecture") + 4 + 8 + len("llama")
    vpos = k1 + 8 + len("general.name") + 4
    bad("bad-string-len-huge.gguf", good[:vpos] + struct.pack("<Q", 1 << 63) + good[vpos + 8:], "EFORMAT",
        "runs past the end of the file")
    bad("bad-value-type.gguf", good[:vpos - 4] + struct.pack("<I", 99) + good[vpos:], "EFORMAT",
        "unknown value type 99")
    # extra pairs appended to the metadata
    def with_kv(extra, n=1):
        b, _ = build(meta, tensors, extra_kv=extra, n_extra=n)
        return b
    bad("bad-dup-key.gguf", with_kv(kv("general.name", GV_STR, s("again"))), "EFORMAT", "appears twice")
    bad("bad-nested-array.gguf", with_kv(kv("x.nested", GV_ARR, struct.pack("<IQ", GV_ARR, 1) +
                                            struct.pack("<IQ", GV_U32, 0))), "EUNSUPPORTED", "arrays of arrays")
    bad("bad-array-count-huge.gguf", with_kv(kv("x.arr", GV_ARR, struct.pack("<IQ", GV_U32, 1 << 62))), "EFORMAT",
        "runs past the end of the file")
    bad("bad-string-array-huge.gguf", with_kv(kv("x.arr", GV_ARR, struct.pack("<IQ", GV_STR, 1 << 61))),
        "EFORMAT", "runs past the end of the file")
    bad("bad-bool.gguf", with_kv(kv("x.b", GV_BOOL, b"\x02")), "EFORMAT", "bool value is 2")
    bad("bad-alignment.gguf", with_kv(kv("general.alignment", GV_U32, struct.pack("<I", 48))), "EFORMAT",
        "power of two")
    bad("bad-alignment-type.gguf", with_kv(kv("general.alignment", GV_I32, struct.pack("<i", 32))), "EFORMAT",
        "general.alignment")
    bad("bad-arch.gguf", good.replace(s("llama"), s("gpt2x"), 1), "EUNSUPPORTED", "architecture 'gpt2x'")
    # tensor infos: find the first one (token_embd.weight)
    ti = good.index(s("token_embd.weight"))
    nd_at = ti + 8 + len("token_embd.weight")
    ne_at, type_at = nd_at + 4, nd_at + 4 + 16
    off_at = type_at + 4
    bad("bad-ndims.gguf", good[:nd_at] + struct.pack("<I", 5) + good[nd_at + 4:], "EFORMAT", "5 dimensions")
    bad("bad-dim-zero.gguf", good[:ne_at] + struct.pack("<Q", 0) + good[ne_at + 8:], "EFORMAT", "dimension 0 is 0")
    bad("bad-dims-overflow.gguf", good[:ne_at] + struct.pack("<QQ", 1 << 40, 1 << 40) + good[ne_at + 16:], "EFORMAT",
        "overflow")
    bad("bad-ggml-type.gguf", good[:type_at] + struct.pack("<I", 77) + good[type_at + 4:], "EFORMAT",
        "unknown ggml type 77")
    bad("bad-type-unsupported.gguf", good[:type_at] + struct.pack("<I", 16) + good[type_at + 4:], "EUNSUPPORTED",
        "IQ2_XXS")
    bad("bad-offset-misaligned.gguf", good[:off_at] + struct.pack("<Q", 4) + good[off_at + 8:], "EFORMAT",
        "not a multiple of the alignment")
    bad("bad-offset-past-end.gguf", good[:off_at] + struct.pack("<Q", 1 << 40) + good[off_at + 8:], "EFORMAT",
        "runs past the end of the file")
    bad("bad-offset-overflow.gguf", good[:off_at] + struct.pack("<Q", (1 << 64) - 32) + good[off_at + 8:], "EFORMAT",
        "runs past the end of the file")
    # the second tensor (output_norm? no: attn_norm of layer 0) placed onto the first: overlap
    ti2 = good.index(s("blk.0.attn_norm.weight"))
    off2 = ti2 + 8 + len("blk.0.attn_norm.weight") + 4 + 8 + 4
    bad("bad-overlap.gguf", good[:off2] + struct.pack("<Q", 0) + good[off2 + 8:], "EFORMAT", "overlaps")
    bad("bad-dup-tensor.gguf", good.replace(s("blk.0.attn_q.weight"), s("blk.0.attn_k.weight"), 1), "EFORMAT",
        "appears twice")
    bad("bad-unknown-tensor.gguf", good.replace(s("blk.0.attn_q.weight"), s("blk.0.attn_x.weight"), 1),
        "EUNSUPPORTED", "blk.0.attn_x.weight")
    # a row of 32 elements as Q4_K (256 per block) is not whole blocks
    bad("bad-row-blocks.gguf", good[:type_at] + struct.pack("<I", 12) + good[type_at + 4:], "EFORMAT",
        "not a whole number of Q4_K blocks")
    # llq 1.1 mapping (docs/FORMAT.md section 8): rope_freqs, qwen2's q/k rows and biases, a sliding window, "gpt2"
    def with_tensors(extra_t, arch=None, extra=b"", n=0):
        b, _ = build(meta, extra_t + tensors, extra_kv=extra, n_extra=n)
        return b if arch is None else b.replace(s("llama"), s(arch), 1).replace(b"llama.", arch.encode() + b".")
    hd = u32m(meta, "llama.dim") // u32m(meta, "llama.n_heads")
    bad("bad-rope-freqs-len.gguf", with_tensors([("rope_freqs.weight", np.ones(5, "<f4"))]), "EFORMAT",
        "rope_freqs.weight' must be f32 [%d]" % (hd // 2))
    bad("bad-rope-freqs-values.gguf", with_tensors([("rope_freqs.weight", np.full(hd // 2, 0.5, "<f4"))]),
        "EUNSUPPORTED", "divisor 0 is 0.5")
    bad("bad-qwen2-rows.gguf", with_tensors([], "qwen2"), "EFORMAT", "is not whole heads of %d rows" % hd)
    bad("bad-bias-shape.gguf", with_tensors([("layers.0.attention.wq.bias", np.zeros(hd + 2, "<f4"))], "qwen2"),
        "EFORMAT", "F32 of %d rows is not whole heads" % (hd + 2))
    bad("bad-sliding-window.gguf", with_kv(kv("llama.attention.sliding_window", GV_U32, struct.pack("<I", 48))),
        "EUNSUPPORTED", "ignores a sliding window")
    def gpt2_kv(tokens, merges):
        toks = b"".join(s(t) for t in tokens)
        return [kv("tokenizer.ggml.model", GV_STR, s("gpt2")), kv("tokenizer.ggml.pre", GV_STR, s("qwen2")),
                kv("tokenizer.ggml.tokens", GV_ARR, struct.pack("<IQ", GV_STR, len(tokens)) + toks),
                kv("tokenizer.ggml.token_type", GV_ARR, struct.pack("<IQ", GV_I32, len(tokens)) +
                   struct.pack("<%di" % len(tokens), *([1] * len(tokens)))),
                kv("tokenizer.ggml.merges", GV_ARR, struct.pack("<IQ", GV_STR, len(merges)) +
                   b"".join(s(m) for m in merges))]
    g = gpt2_kv(["a", "b", "ab", "c d"], ["a b"])
    bad("bad-gpt2-token.gguf", with_kv(b"".join(g), len(g)), "EFORMAT", "token 3 is not spelled with GPT-2's byte map")
    g = gpt2_kv(["a", "b", "ab"], ["a b", "a x"])
    bad("bad-gpt2-merge.gguf", with_kv(b"".join(g), len(g)), "EFORMAT", "merges[1] is not two tokens")
    open(os.path.join(OUT, "hostile.txt"), "w").write(
        "# file, expected error code, a piece of the message (tests/unit/test_gguf.c); made by make_gguf_fixtures.py\n" +
        "\n".join(hostile) + "\n")


if __name__ == "__main__":
    main()
