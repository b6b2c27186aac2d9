#!/usr/bin/python3
"""make_kquant_refs.py — writes tests/unit/kquant_refs.h: raw blocks of every ggml block type llq stores, with the
f32 values llama.cpp gives them, for test_kquant.c. Run once (needs ../shared/models/pydoc-7m/gguf and numpy):
    /usr/bin/python3 tests/make_kquant_refs.py
Blocks of q4_k, q5_k, q6_k, iq4_xs, q4_0, q8_0 are cut from llama.cpp's own files of pydoc-7m; the values are
computed here by a numpy transcription of ggml's dequantize_row_* (f32, same operation order), which is checked
first against the f32 originals (a wrong layout gives noise, not a 4-bit error). q2_k, q3_k, q4_1, q5_0, q5_1 and
iq4_nl appear in none of those files: their blocks are random bytes (with sane f16 scales)."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_min  # noqa: E402

GG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "models", "pydoc-7m", "gguf")
IQ4 = np.array([-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113], dtype=np.float32)


def f16(b, o):
    return np.frombuffer(b[o:o + 2], dtype=np.float16).astype(np.float32)[0]


def k4_scale_min(j, s):
    if j < 4:
        return s[j] & 63, s[j + 4] & 63
    return (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4), (s[j + 4] >> 4) | ((s[j] >> 6) << 4)


def deq(t, b):
    """One block of type t (bytes b) -> float32[elems], ggml's expression order."""
    f = np.float32
    y = []
    if t == "q4_0":
        d = f16(b, 0); qs = b[2:18]
        y = [f((q & 0xF) - 8) * d for q in qs] + [f((q >> 4) - 8) * d for q in qs]
    elif t == "q4_1":
        d, m = f16(b, 0), f16(b, 2); qs = b[4:20]
        y = [f(q & 0xF) * d + m for q in qs] + [f(q >> 4) * d + m for q in qs]
    elif t in ("q5_0", "q5_1"):
        o = 2 if t == "q5_0" else 4
        d = f16(b, 0); m = f16(b, 2) if t == "q5_1" else None
        qh = int.from_bytes(b[o:o + 4], "little"); qs = b[o + 4:o + 20]
        lo = [(qs[j] & 0xF) | (((qh >> j) << 4) & 0x10) for j in range(16)]
        hi = [(qs[j] >> 4) | ((qh >> (j + 12)) & 0x10) for j in range(16)]
        y = [f(q - 16) * d for q in lo + hi] if m is None else [f(q) * d + m for q in lo + hi]
    elif t == "q8_0":
        d = f16(b, 0)
        y = [f(np.int8(np.uint8(q))) * d for q in b[2:34]]
    elif t == "iq4_nl":
        d = f16(b, 0); qs = b[2:18]
        y = [d * IQ4[q & 0xF] for q in qs] + [d * IQ4[q >> 4] for q in qs]
    elif t == "q2_k":
        sc, qs = b[0:16], b[16:80]; d, dm = f16(b, 80), f16(b, 82); is_ = 0
        for n in range(2):
            q = qs[32 * n:32 * n + 32]
            for shift in (0, 2, 4, 6):
                for h in range(2):
                    s = sc[is_]; is_ += 1
                    dl, ml = d * f(s & 0xF), dm * f(s >> 4)
                    y += [dl * f((q[16 * h + l] >> shift) & 3) - ml for l in range(16)]
    elif t == "q3_k":
        hm, qs, s12 = b[0:32], b[32:96], b[96:108]; d = f16(b, 108)
        aux = [int.from_bytes(s12[4 * i:4 * i + 4], "little") for i in range(3)] + [0]
        k1, k2 = 0x03030303, 0x0f0f0f0f; tmp = aux[2]
        aux[2] = ((aux[0] >> 4) & k2) | (((tmp >> 4) & k1) << 4)
        aux[3] = ((aux[1] >> 4) & k2) | (((tmp >> 6) & k1) << 4)
        aux[0] = (aux[0] & k2) | (((tmp >> 0) & k1) << 4)
        aux[1] = (aux[1] & k2) | (((tmp >> 2) & k1) << 4)
        scales = np.frombuffer(b"".join(a.to_bytes(4, "little") for a in aux), dtype=np.int8)
        is_ = 0; m = 1
        for n in range(2):
            q = qs[32 * n:32 * n + 32]
            for j in range(4):
                for h in range(2):
                    dl = d * f(int(scales[is_]) - 32); is_ += 1
                    y += [dl * f(((q[16 * h + l] >> (2 * j)) & 3) - (0 if hm[16 * h + l] & m else 4)) for l in range(16)]
                m <<= 1
    elif t in ("q4_k", "q5_k"):
        d, dm = f16(b, 0), f16(b, 2); s = b[4:16]
        qh = b[16:48] if t == "q5_k" else None
        qs = b[48:176] if t == "q5_k" else b[16:144]
        for c in range(4):
            q = qs[32 * c:32 * c + 32]
            for h in range(2):
                sc, mn = k4_scale_min(2 * c + h, s)
                d1, m1 = d * f(sc), dm * f(mn)
                for l in range(32):
                    v = (q[l] >> 4) if h else (q[l] & 0xF)
                    if qh is not None:
                        v += 16 if qh[l] & (1 << (2 * c + h)) else 0
                    y.append(d1 * f(v) - m1)
    elif t == "q6_k":
        ql, qh = b[0:128], b[128:192]; sc = np.frombuffer(b[192:208], dtype=np.int8); d = f16(b, 208)
        out = [None] * 256
        for n in range(2):
            for l in range(32):
                is_ = l // 16
                a, c, h = ql[64 * n + l], ql[64 * n + l + 32], qh[32 * n + l]
                q1 = ((a & 0xF) | (((h >> 0) & 3) << 4)) - 32
                q2 = ((c & 0xF) | (((h >> 2) & 3) << 4)) - 32
                q3 = ((a >> 4) | (((h >> 4) & 3) << 4)) - 32
                q4 = ((c >> 4) | (((h >> 6) & 3) << 4)) - 32
                for i, q in enumerate((q1, q2, q3, q4)):
                    out[128 * n + 32 * i + l] = d * f(int(sc[8 * n + is_ + 2 * i])) * f(q)
        y = out
    elif t == "iq4_xs":
        d = f16(b, 0); sh = int.from_bytes(b[2:4], "little"); sl = b[4:8]; qs = b[8:136]
        for ib in range(8):
            ls = ((sl[ib // 2] >> (4 * (ib % 2))) & 0xF) | (((sh >> (2 * ib)) & 3) << 4)
            dl = d * f(ls - 32); q = qs[16 * ib:16 * ib + 16]
            y += [dl * IQ4[v & 0xF] for v in q] + [dl * IQ4[v >> 4] for v in q]
    else:
        raise ValueError(t)
    return np.array(y, dtype=np.float32)


REAL = [  # (file, tensor, type): a few blocks each
    ("Q4_K_M", "blk.0.attn_q.weight", "q4_k"), ("Q4_K_M", "token_embd.weight", "q4_k"),
    ("Q4_K_M", "output.weight", "q6_k"), ("Q4_K_M", "blk.2.ffn_down.weight", "q6_k"),
    ("Q4_K_S-imatrix", "blk.1.attn_v.weight", "q5_k"), ("IQ4_XS-imatrix", "blk.3.ffn_up.weight", "iq4_xs"),
    ("Q4_0", "blk.4.attn_output.weight", "q4_0"), ("Q8_0", "blk.5.ffn_gate.weight", "q8_0"),
]


def main():
    rng = np.random.default_rng(14)
    f32 = gguf_min.Reader(os.path.join(GG, "pydoc-7m-F32.gguf"))
    cases = []
    for fname, tname, t in REAL:
        r = gguf_min.Reader(os.path.join(GG, "pydoc-7m-%s.gguf" % fname))
        raw, dims, tt = r.tensor_bytes(tname)
        assert tt == t, (tname, tt)
        be, bb = gguf_min.BLOCK[t]
        ref = np.frombuffer(f32.tensor_bytes(tname)[0], dtype=np.float32)
        nb = len(raw) // bb
        full = np.concatenate([deq(t, raw[i * bb:(i + 1) * bb]) for i in range(min(nb, 64))])
        orig = ref[:len(full)]
        rel = float(np.sqrt(np.mean((full - orig) ** 2)) / np.sqrt(np.mean(orig ** 2)))
        print("%-16s %-28s %-7s rel. RMS error of 64 blocks %.4f" % (fname, tname, t, rel))
        assert rel < 0.12, "layout or formula wrong"
        pick = [0, 1, nb // 2, nb - 1]
        cases.append((t, "%s %s" % (fname, tname), b"".join(raw[i * bb:(i + 1) * bb] for i in pick)))
    for t in ("q2_k", "q3_k", "q4_1", "q5_0", "q5_1", "iq4_nl"):
        be, bb = gguf_min.BLOCK[t]
        blks = []
        for _ in range(3):
            b = bytearray(rng.integers(0, 256, bb, dtype=np.uint8).tobytes())
            d = np.float16(rng.uniform(-0.02, 0.02)).tobytes()
            m = np.float16(rng.uniform(-0.02, 0.02)).tobytes()
            if t in ("q2_k",):
                b[80:82], b[82:84] = d, m
            elif t == "q3_k":
                b[108:110] = d
            else:
                b[0:2] = d
                if t in ("q4_1", "q5_1"):
                    b[2:4] = m
            blks.append(bytes(b))
        cases.append((t, "random", b"".join(blks)))
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "unit", "kquant_refs.h")
    with open(out, "w") as fo:
        fo.write("/* kquant_refs.h — generated by tests/make_kquant_refs.py: blocks and llama.cpp's values. */\n")
        fo.write("#include <stdint.h>\n\n")
        for i, (t, what, raw) in enumerate(cases):
            be, bb = gguf_min.BLOCK[t]
            vals = np.concatenate([deq(t, raw[j * bb:(j + 1) * bb]) for j in range(len(raw) // bb)])
            fo.write("/* %s: %s */\nstatic const uint8_t kq_raw%d[%d] = {" % (t, what, i, len(raw)))
            fo.write(",".join(str(x) for x in raw) + "};\n")
            fo.write("static const uint32_t kq_val%d[%d] = {" % (i, len(vals)))
            fo.write(",".join("0x%08x" % x for x in vals.view(np.uint32)) + "};\n")
        fo.write("\nstatic const struct { const char *type; const uint8_t *raw; const uint32_t *val; unsigned n_blocks; }"
                 " kq_cases[] = {\n")
        for i, (t, what, raw) in enumerate(cases):
            fo.write('    {"%s", kq_raw%d, kq_val%d, %d},\n' % (t, i, i, len(raw) // gguf_min.BLOCK[t][1]))
        fo.write("};\n")
    print("wrote", out)


if __name__ == "__main__":
    main()
