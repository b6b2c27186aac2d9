#!/usr/bin/python3
"""make_fixtures.py — small LLaMA-shaped checkpoints for the checkpoint readers and llq-convert tests.

Run with Debian's python3 (python3-torch 1.13, python3-sentencepiece): `make fixtures` or
/usr/bin/python3 tests/make_fixtures.py. `--bench DIR` instead writes a synthetic ~1 GB f32 model for the
benchmarks (DIR/meta: consolidated.00.pth + params.json + tokenizer.model; DIR/hf-st: model.safetensors +
config.json + tokenizer.model; not committed). Writes tests/fixtures/ckpt/ (layout in its README.md) and
refs.json: for every tensor of every good file, dtype, shape and the CRC-32 of its contiguous little-endian
bytes as torch.load gives them. Deterministic (fixed seeds); rerunnable.
"""
import collections
import json
import os
import shutil
import struct
import sys
import zlib

import torch

ROOT = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(ROOT, "fixtures", "ckpt")
REFS = {}

DTYPE_NAMES = {torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16", torch.float64: "f64",
               torch.int64: "i64", torch.int32: "i32", torch.int16: "i16", torch.int8: "i8", torch.uint8: "u8",
               torch.bool: "bool"}
ST_NAMES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
            torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
            torch.bool: "BOOL"}


def tensor_bytes(t):
    return t.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def ref_of(sd, prefix=""):
    out = {}
    for k, v in sd.items():
        name = prefix + str(k)
        if isinstance(v, torch.Tensor):
            out[name] = {"dtype": DTYPE_NAMES[v.dtype], "shape": list(v.shape), "crc32": zlib.crc32(tensor_bytes(v))}
        elif isinstance(v, dict):
            out.update(ref_of(v, name + "."))
    return out


def rel(path):
    return os.path.relpath(path, OUT)


def record_torch(path):
    """Reference = what torch.load gives."""
    REFS[rel(path)] = ref_of(torch.load(path, map_location="cpu"))


def save(obj, path, **kw):
    torch.save(obj, path, **kw)
    record_torch(path)


def save_st(tensors, path, record=True, pad=True):
    """safetensors by hand: u64 header length, JSON header (padded to 8 bytes unless pad=False), data in order."""
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for k, v in tensors.items():
        b = tensor_bytes(v)
        header[k] = {"dtype": ST_NAMES[v.dtype], "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((-len(h) % 8) if pad else (1 - len(h) % 2))  # unpadded: an odd length, data misaligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    if record:
        REFS[rel(path)] = ref_of(tensors)


def write_zip(path, entries, zip64=False, deflate=(), override=None):
    """A minimal ZIP writer (stored / deflate, optional ZIP64 everywhere, per-entry field overrides)."""
    out, central = bytearray(), bytearray()
    override = override or {}
    for name, data in entries:
        nb = name.encode()
        crc = zlib.crc32(data)
        if name in deflate:
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            comp, method = c.compress(data) + c.flush(), 8
        else:
            comp, method = data, 0
        usize, csize = len(data), len(comp)
        ov = override.get(name, {})
        usize, crc = ov.get("usize", usize), ov.get("crc", crc)
        off = len(out)
        if zip64:
            lx = struct.pack("<HHQQ", 1, 16, usize, csize)
            lh = struct.pack("<IHHHHHIIIHH", 0x04034b50, 45, 0, method, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(nb), len(lx))
            cx = struct.pack("<HHQQQ", 1, 24, usize, csize, off)
            ch = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 45, 45, 0, method, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                             len(nb), len(cx), 0, 0, 0, 0, 0xFFFFFFFF)
        else:
            lx = b""
            lh = struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, 0, method, 0, 0, crc, csize, usize, len(nb), 0)
            cx = b""
            ch = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 20, 20, 0, method, 0, 0, crc, csize, usize,
                             len(nb), 0, 0, 0, 0, 0, off)
        # pad the data to 64 bytes with an extra field, as torch does
        pad = -(off + len(lh) + len(nb) + len(lx) + 4) % 64
        lx += struct.pack("<HH", 0x4246, pad) + b"Z" * pad
        lh = lh[:28] + struct.pack("<H", len(lx))
        out += lh + nb + lx + comp
        central += ch + nb + cx
    cd_off, n = len(out), len(entries)
    out += central
    if zip64:
        z64 = len(out)
        out += struct.pack("<IQHHIIQQQQ", 0x06064b50, 44, 45, 45, 0, 0, n, n, len(central), cd_off)
        out += struct.pack("<IIQI", 0x07064b50, 0, z64, 1)
        out += struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    else:
        out += struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, n, n, len(central), cd_off, 0)
    with open(path, "wb") as f:
        f.write(out)


def zip_entries(path):
    import zipfile
    with zipfile.ZipFile(path) as z:
        return [(i.filename, z.read(i.filename)) for i in z.infolist()]


# ---------------------------------------------------------------- the tiny models

def make_model(seed, dim=32, n_layers=2, n_heads=4, n_kv_heads=2, hidden=96, vocab=320):
    """Canonical (Meta-named) weights; every value k/256 with |k| <= 64 (norms 1 + k/128, |k| <= 16), exactly representable
    in f32, f16 and bf16, so every dtype variant holds the same numbers."""
    g = torch.Generator().manual_seed(seed)
    hd = dim // n_heads

    def w(*shape):
        return torch.randint(-64, 65, shape, generator=g).float() / 256

    def norm():
        return 1 + torch.randint(-16, 17, (dim,), generator=g).float() / 128

    sd = collections.OrderedDict()
    sd["tok_embeddings.weight"] = w(vocab, dim)
    for i in range(n_layers):
        p = f"layers.{i}."
        sd[p + "attention.wq.weight"] = w(n_heads * hd, dim)
        sd[p + "attention.wk.weight"] = w(n_kv_heads * hd, dim)
        sd[p + "attention.wv.weight"] = w(n_kv_heads * hd, dim)
        sd[p + "attention.wo.weight"] = w(dim, n_heads * hd)
        sd[p + "feed_forward.w1.weight"] = w(hidden, dim)
        sd[p + "feed_forward.w2.weight"] = w(dim, hidden)
        sd[p + "feed_forward.w3.weight"] = w(hidden, dim)
        sd[p + "attention_norm.weight"] = norm()
        sd[p + "ffn_norm.weight"] = norm()
    sd["norm.weight"] = norm()
    sd["output.weight"] = w(vocab, dim)
    cfg = dict(dim=dim, n_layers=n_layers, n_heads=n_heads, n_kv_heads=n_kv_heads, hidden=hidden, vocab=vocab)
    return sd, cfg


def cast(sd, dtype):
    return collections.OrderedDict((k, v.to(dtype).clone()) for k, v in sd.items())


def params_json(cfg, vocab_size):
    p = {"dim": cfg["dim"], "n_layers": cfg["n_layers"], "n_heads": cfg["n_heads"], "vocab_size": vocab_size,
         "multiple_of": 32, "norm_eps": 1e-05}
    if cfg["n_kv_heads"] != cfg["n_heads"]:
        p["n_kv_heads"] = cfg["n_kv_heads"]
    return p  # hidden_dim absent: 2/3 * 4 * 32 = 85 -> multiple_of 32 -> 96


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def new_dir(name, tok=True):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    if tok:
        shutil.copy(os.path.join(OUT, "tokenizer.model"), d)
    return d


def meta(name, sd, cfg, dtype, n_shards, vocab_size, rope_freqs=False, **save_kw):
    d = new_dir(name)
    sd = cast(sd, dtype)
    if rope_freqs:
        hd = cfg["dim"] // cfg["n_heads"]
        sd["rope.freqs"] = (1.0 / (10000.0 ** (torch.arange(0, hd, 2).float() / hd))).to(dtype)
    dim0 = ("wq", "wk", "wv", "w1", "w3", "output")
    dim1 = ("wo", "w2", "tok_embeddings")
    for s in range(n_shards):
        shard = collections.OrderedDict()
        for k, v in sd.items():
            base = k.split(".")[-2]
            if n_shards > 1 and base in dim0:
                v = v.chunk(n_shards, 0)[s]
            elif n_shards > 1 and base in dim1:
                v = v.chunk(n_shards, 1)[s]
            shard[k] = v.clone()
        save(shard, os.path.join(d, f"consolidated.{s:02d}.pth"), **save_kw)
    write_json(os.path.join(d, "params.json"), params_json(cfg, vocab_size))


def permute(w, n_heads, dim1, dim2):
    """HF's convert_llama_weights_to_hf.py permutation for q/k."""
    return w.view(n_heads, dim1 // n_heads // 2, 2, dim2).transpose(1, 2).reshape(dim1, dim2)


def to_hf(sd, cfg):
    dim, nh, nkv = cfg["dim"], cfg["n_heads"], cfg["n_kv_heads"]
    kvd = dim // nh * nkv
    hf = collections.OrderedDict()
    hf["model.embed_tokens.weight"] = sd["tok_embeddings.weight"]
    for i in range(cfg["n_layers"]):
        p, q = f"layers.{i}.", f"model.layers.{i}."
        hf[q + "self_attn.q_proj.weight"] = permute(sd[p + "attention.wq.weight"], nh, dim, dim)
        hf[q + "self_attn.k_proj.weight"] = permute(sd[p + "attention.wk.weight"], nkv, kvd, dim)
        hf[q + "self_attn.v_proj.weight"] = sd[p + "attention.wv.weight"]
        hf[q + "self_attn.o_proj.weight"] = sd[p + "attention.wo.weight"]
        hf[q + "mlp.gate_proj.weight"] = sd[p + "feed_forward.w1.weight"]
        hf[q + "mlp.down_proj.weight"] = sd[p + "feed_forward.w2.weight"]
        hf[q + "mlp.up_proj.weight"] = sd[p + "feed_forward.w3.weight"]
        hf[q + "input_layernorm.weight"] = sd[p + "attention_norm.weight"]
        hf[q + "post_attention_layernorm.weight"] = sd[p + "ffn_norm.weight"]
    hf["model.norm.weight"] = sd["norm.weight"]
    hf["lm_head.weight"] = sd["output.weight"]
    return hf


def hf_config(cfg, dtype):
    return {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": cfg["dim"],
            "intermediate_size": cfg["hidden"], "num_attention_heads": cfg["n_heads"],
            "num_key_value_heads": cfg["n_kv_heads"], "num_hidden_layers": cfg["n_layers"], "rms_norm_eps": 1e-05,
            "vocab_size": cfg["vocab"], "max_position_embeddings": 256, "rope_theta": 10000.0,
            "torch_dtype": {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16"}[dtype],
            "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu"}


def split2(sd):
    keys = list(sd)
    half = len(keys) // 2
    return [collections.OrderedDict((k, sd[k]) for k in keys[:half]),
            collections.OrderedDict((k, sd[k]) for k in keys[half:])]


def hf(name, sd, cfg, dtype, kind, n_shards):
    d = new_dir(name)
    h = cast(to_hf(sd, cfg), dtype)
    write_json(os.path.join(d, "config.json"), hf_config(cfg, dtype))
    shards = split2(h) if n_shards == 2 else [h]
    ext = "bin" if kind == "bin" else "safetensors"
    stem = "pytorch_model" if kind == "bin" else "model"
    weight_map, total = {}, 0
    for i, s in enumerate(shards):
        fn = f"{stem}.{ext}" if n_shards == 1 else f"{stem}-{i + 1:05d}-of-{n_shards:05d}.{ext}"
        path = os.path.join(d, fn)
        if kind == "bin":
            s = collections.OrderedDict(s)
            s._metadata = collections.OrderedDict([("", {"version": 1})])  # as nn.Module.state_dict() has
            save(s, path)
        else:
            save_st(s, path)
        for k, v in s.items():
            weight_map[k] = fn
            total += v.numel() * v.element_size()
    if n_shards > 1:
        write_json(os.path.join(d, f"{stem}.{ext}.index.json"), {"metadata": {"total_size": total}, "weight_map": weight_map})


def tokenizer():
    import sentencepiece as spm
    text = open(os.path.join(ROOT, "..", "models", "pydoc-7m", "calib.txt"), encoding="utf-8").read()[:120000]
    tmp = os.path.join(OUT, "_spm_train.txt")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    spm.SentencePieceTrainer.train(input=tmp, model_prefix=os.path.join(OUT, "tokenizer"), vocab_size=320,
                                   model_type="bpe", byte_fallback=True, num_threads=1, character_coverage=0.98,
                                   normalization_rule_name="identity", add_dummy_prefix=True, minloglevel=2)
    os.remove(tmp)
    os.remove(os.path.join(OUT, "tokenizer.vocab"))


# ---------------------------------------------------------------- reader-only fixtures

def misc():
    d = new_dir("misc", tok=False)
    g = torch.Generator().manual_seed(7)
    base = torch.randn(4, 8, generator=g)
    flat = base.view(32)
    h = torch.randn(6, 10, generator=g).half()
    views = collections.OrderedDict()
    views["base"] = base
    views["row1"] = base[1]                   # shares the storage, offset 8
    views["slice"] = flat[4:20]               # offset 4
    views["col2"] = base[:, 2]                # stride 8: not contiguous
    views["t"] = base.t()                     # transpose: not contiguous
    views["h_t"] = h.t()                      # f16 transpose
    views["h_sub"] = h[1:5, 2:9]              # 2-D sub-block
    views["scalar"] = torch.tensor(3.5)
    views["empty"] = torch.zeros(0, 4)
    views["f64"] = torch.randn(3, 2, generator=g).double()
    views["i64"] = torch.arange(-5, 7).reshape(3, 4)
    views["i32"] = torch.arange(10, dtype=torch.int32)
    views["i16"] = torch.arange(-3, 3, dtype=torch.int16)
    views["i8"] = torch.arange(-4, 4, dtype=torch.int8)
    views["u8"] = torch.arange(250, 256, dtype=torch.uint8)
    views["bool"] = torch.tensor([True, False, True])
    views["bf16"] = torch.randn(5, 3, generator=g).bfloat16()
    save(views, os.path.join(d, "views.pth"))
    save(views, os.path.join(d, "views_legacy.pth"), _use_new_zipfile_serialization=False)
    save(views, os.path.join(d, "views_proto4.pth"), pickle_protocol=4)
    save(views, os.path.join(d, "views_legacy_proto4.pth"), _use_new_zipfile_serialization=False, pickle_protocol=4)
    nested = {"model": collections.OrderedDict([("w", base.clone()), ("b", torch.ones(3))]), "step": 5,
              "note": "x", "args": [1, 2], "opt": {"lr": 0.1}}
    save(nested, os.path.join(d, "nested.pth"))
    lin = torch.nn.Linear(4, 3)
    torch.manual_seed(0)
    save(lin.state_dict(), os.path.join(d, "module_sd.pth"))                     # OrderedDict + _metadata BUILD
    save({"p": torch.nn.Parameter(torch.randn(2, 3, generator=g))}, os.path.join(d, "param.pth"))
    # container variants of views.pth: deflated entries, ZIP64 records
    ents = zip_entries(os.path.join(d, "views.pth"))
    p = os.path.join(d, "views_deflate.pth")
    write_zip(p, ents, deflate={n for n, _ in ents})
    REFS[rel(p)] = REFS[rel(os.path.join(d, "views.pth"))]
    p = os.path.join(d, "views_zip64.pth")
    write_zip(p, ents, zip64=True)
    REFS[rel(p)] = REFS[rel(os.path.join(d, "views.pth"))]
    st = collections.OrderedDict((k, v.contiguous()) for k, v in views.items() if k not in ("row1", "slice", "col2", "t"))
    save_st(st, os.path.join(d, "dtypes.safetensors"))
    save_st(st, os.path.join(d, "unaligned.safetensors"), pad=False)


class Evil:
    def __init__(self, fn, arg):
        self.fn, self.arg = fn, arg

    def __reduce__(self):
        return (self.fn, (self.arg,))


def bad():
    import builtins
    import os as os_
    import pickle
    import subprocess
    d = new_dir("bad", tok=False)

    def w(name, data):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)

    w("evil_system.pkl", pickle.dumps({"w": Evil(os_.system, "echo pwned")}, protocol=2))
    w("evil_eval.pkl", pickle.dumps(Evil(builtins.eval, "1+1"), protocol=2))
    w("evil_exec.pkl", pickle.dumps(Evil(builtins.exec, "x=1"), protocol=2))
    w("evil_subprocess.pkl", pickle.dumps(Evil(subprocess.check_call, ["true"]), protocol=2))
    w("evil_stack_global.pkl", pickle.dumps(Evil(os_.system, "echo pwned"), protocol=4))
    w("memo_bomb.pkl", b"\x80\x02}r\xf0\xff\xff\xff.")                # LONG_BINPUT 0xfffffff0
    w("long_absurd.pkl", b"\x80\x02\x8b\xff\xff\xff\x7f" + b"\x01" * 16 + b".")  # LONG4 of 2^31-1 bytes
    good = zip_entries(os.path.join(OUT, "misc", "views.pth"))
    pkl = [v for n, v in good if n.endswith("/data.pkl")][0]
    w("truncated.pkl", pkl[: len(pkl) // 2])
    # a torch zip whose data.pkl calls os.system
    evil = pickle.dumps(collections.OrderedDict([("w", Evil(os_.system, "echo pwned"))]), protocol=2)
    write_zip(os.path.join(d, "evil_system.pth"), [("evil/data.pkl", evil), ("evil/version", b"3\n")])
    # malformed zips, from a real torch.save file
    src = open(os.path.join(OUT, "misc", "views.pth"), "rb").read()
    w("zip_truncated.pth", src[: len(src) * 6 // 10])
    cdo = bytearray(src)  # central directory offset moved past the end (EOCD and, torch writes one, ZIP64 record)
    eocd = src.rfind(b"PK\x05\x06")
    cdo[eocd + 16: eocd + 20] = struct.pack("<I", len(src) + 4096)
    z64 = src.rfind(b"PK\x06\x06")
    if z64 >= 0:
        cdo[z64 + 48: z64 + 56] = struct.pack("<Q", len(src) + 4096)
    w("zip_cd_outside.pth", bytes(cdo))
    import zipfile
    with zipfile.ZipFile(os.path.join(OUT, "misc", "views.pth")) as z:
        info = [i for i in z.infolist() if i.filename.endswith("/data/0")][0]
    lh = info.header_offset
    nlen, xlen = struct.unpack("<HH", src[lh + 26: lh + 30])
    at = lh + 30 + nlen + xlen + 5
    flipped = bytearray(src)
    flipped[at] ^= 0x40
    w("zip_crc.pth", bytes(flipped))
    # zip bombs: an entry inflating far past its declared size; an entry declaring an impossible ratio
    ents = [(n, v) for n, v in good]
    key0 = [n for n, _ in ents if n.endswith("/data/0")][0]
    decl = len(dict(ents)[key0])
    ents_b = [(n, (bytes(16 << 20) if n == key0 else v)) for n, v in ents]
    write_zip(os.path.join(d, "zip_bomb.pth"), ents_b, deflate={key0},
              override={key0: {"usize": decl, "crc": zlib.crc32(bytes(decl))}})
    write_zip(os.path.join(d, "zip_bomb_ratio.pth"), ents, deflate={key0}, zip64=True, override={key0: {"usize": 1 << 40}})
    # legacy cut inside the storages
    leg = open(os.path.join(OUT, "misc", "views_legacy.pth"), "rb").read()
    w("legacy_truncated.pth", leg[: len(leg) - 40])
    # safetensors
    t = collections.OrderedDict([("a", torch.zeros(4)), ("b", torch.ones(2, 2))])

    def st_raw(name, header, data, hlen=None):
        h = json.dumps(header, separators=(",", ":")).encode() if isinstance(header, dict) else header
        w(name, struct.pack("<Q", len(h) if hlen is None else hlen) + h + data)

    data = tensor_bytes(t["a"]) + tensor_bytes(t["b"])
    st_raw("st_overlap.safetensors", {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                                      "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}, data[:24])
    st_raw("st_gap.safetensors", {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                  "b": {"dtype": "F32", "shape": [2], "data_offsets": [16, 24]}}, data[:24])
    st_raw("st_huge_header.safetensors", {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, data[:16],
           hlen=100 << 30)
    st_raw("st_header_past_eof.safetensors", {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}},
           data[:16], hlen=4000)
    st_raw("st_dup.safetensors", b'{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},'
           b'"a":{"dtype":"F32","shape":[4],"data_offsets":[16,32]}}', data)
    st_raw("st_dup_inner.safetensors", b'{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16],"dtype":"F16"}}',
           data[:16])
    st_raw("st_bad_dtype.safetensors", {"a": {"dtype": "F8_E4M3", "shape": [16], "data_offsets": [0, 16]}}, data[:16])
    st_raw("st_size_mismatch.safetensors", {"a": {"dtype": "F32", "shape": [5], "data_offsets": [0, 16]}}, data[:16])
    st_raw("st_trailing.safetensors", {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, data[:20])
    st_raw("st_not_object.safetensors", b"[1,2,3] ", b"")
    st_raw("st_bad_json.safetensors", b'{"a":{"dtype":"F32",', data[:16])
    st_raw("st_overflow.safetensors", {"a": {"dtype": "F32", "shape": [1 << 62, 1 << 62], "data_offsets": [0, 16]}},
           data[:16])
    w("not_a_checkpoint.bin", b"hello, this is not a checkpoint at all\n")
    # "billion laughs": 2^30 paths through dicts shared by reference (the pickle memo keeps the file tiny)
    laughs = {"w": torch.zeros(1)}
    for _ in range(30):
        laughs = {"a": laughs, "b": laughs}
    torch.save(laughs, os.path.join(d, "laughs.pth"))


def bench(out):
    """dim 2048, 5 layers, 16 heads, ffn 5632, vocab 320 (the fixture tokenizer): 1.03 GB in f32."""
    global OUT
    tok = os.path.join(OUT, "tokenizer.model")
    sd, cfg = make_model(3, dim=2048, n_layers=5, n_heads=16, n_kv_heads=16, hidden=5632, vocab=320)
    for sub in ("meta", "hf-st"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
        shutil.copy(tok, os.path.join(out, sub))
    torch.save(sd, os.path.join(out, "meta", "consolidated.00.pth"))
    p = params_json(cfg, 320)
    p["multiple_of"] = 256  # 2/3 * 4 * 2048 = 5461 -> 5632
    write_json(os.path.join(out, "meta", "params.json"), p)
    save_st(to_hf(sd, cfg), os.path.join(out, "hf-st", "model.safetensors"), record=False)
    write_json(os.path.join(out, "hf-st", "config.json"), hf_config(cfg, torch.float32))
    print(f"wrote {out}/meta and {out}/hf-st", file=sys.stderr)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--bench":
        return bench(sys.argv[2])
    torch.manual_seed(0)
    if os.path.isdir(OUT):
        for n in os.listdir(OUT):
            p = os.path.join(OUT, n)
            if os.path.isdir(p):
                shutil.rmtree(p)
    os.makedirs(OUT, exist_ok=True)
    tokenizer()
    gqa, cg = make_model(1)
    mha, cm = make_model(2, n_kv_heads=4)
    meta("meta-1", gqa, cg, torch.bfloat16, 1, cg["vocab"], rope_freqs=True)
    meta("meta-2", gqa, cg, torch.bfloat16, 2, -1)
    meta("meta-legacy", gqa, cg, torch.float32, 1, cg["vocab"], _use_new_zipfile_serialization=False)
    meta("meta-mha", mha, cm, torch.float16, 1, -1)
    hf("hf-bin", gqa, cg, torch.float32, "bin", 1)
    hf("hf-bin-sharded", gqa, cg, torch.float16, "bin", 2)
    hf("hf-st", gqa, cg, torch.bfloat16, "st", 1)
    hf("hf-st-sharded", gqa, cg, torch.float32, "st", 2)
    hf("hf-st-mha", mha, cm, torch.float16, "st", 1)
    misc()
    bad()
    # canonical reference: the Meta-named f32 weights every layout must convert to (rope.freqs not included)
    REFS["canonical/gqa"] = ref_of(gqa)
    REFS["canonical/mha"] = ref_of(mha)
    with open(os.path.join(OUT, "refs.json"), "w") as f:
        json.dump(REFS, f, indent=1, sort_keys=True)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(OUT) for f in fs)
    print(f"wrote {OUT}: {total} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
