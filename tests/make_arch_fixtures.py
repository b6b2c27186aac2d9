#!/usr/bin/python3
"""make_arch_fixtures.py — tiny models of each supported family and PyTorch reference perplexities for them
(tests/cli/arch.sh checks `llq-eval ppl` against these within 1e-5 relative).

Run with Debian's python3-torch: /usr/bin/python3 tests/make_arch_fixtures.py
Writes tests/fixtures/arch/:
  tokens.u32            1024 random token ids (little-endian uint32, seed 7), vocabulary 256
  llama32/              Llama-3.2-style HF checkpoint: LlamaForCausalLM, tied embeddings (no lm_head.weight),
                        rope_scaling llama3 (factor 32, low 1, high 4, original 8192), rope_theta 500000, GQA 2/1
  llama31-meta/         Llama-3.1-style Meta checkpoint: consolidated.00.pth + params.json with use_scaled_rope
                        (Meta's apply_scaling: factor 8, low 1, high 4, original 8192), untied output, and a tiktoken
                        tokenizer.model (the 703 byte-level tokens of hf_llama3_small.json as "base64 rank" lines;
                        the reader adds Meta's 256 special tokens, named as llama-models names them for 3.1+:
                        vocabulary 959). Its text perplexity is checked on tiktoken's own ids of the stress corpus
                        (stress_tiktoken_small_llama31.ids.json from npm tiktoken; rank-ordered merges tokenize this
                        cut vocabulary differently from the tokenizer.json's merge list), BOS 703 first
  qwen2/, qwen2-untied/ Qwen2ForCausalLM with q/k/v biases, tied and untied, rope_theta 1e6
  mistral/              MistralForCausalLM with sliding_window 48 (shorter than both test contexts) and an explicit
                        head_dim 32 (4 heads x 32 = 128 != hidden_size 64)
  mistral-meta/         Mistral's own download (mistral-inference): params.json with sliding_window 48, head_dim,
                        hidden_dim; consolidated.safetensors with Meta's names and interleaved q/k rows; the
                        SentencePiece tokenizer.model bpe_ws.model (500 ids)
  smollm2/              SmolLM2-style LlamaForCausalLM, tied, rope_theta 100000, vocabulary 720 of
                        hf_smollm2_small.json (Digits + ByteLevel with GPT-2's regex); text perplexity on HF's ids
  tinyllama/            TinyLlama-style: GQA ratio 8 (8 heads, 1 kv head), bpe_ws.model as tokenizer.model beside it
  refs.txt              one line per (model, ctx): name ctx ppl ppl_without_rope_scaling ppl_without_window;
                        "NAME-text 128 ppl n_ids n_scored" for the text checks; "gen NAME PROMPT N": greedy
                        generation from the prompt text stops after N tokens (HF fixtures: the third greedy token
                        is added to the config's EOS ids, so N = 2; Meta layouts stop at their tokenizer's EOS ids,
                        llama31-meta at <|eom_id|> 711, which only Llama-3.1's names make an EOS), with a comment
                        giving PyTorch's greedy ids
llama32 has the vocabulary of tests/fixtures/tokenizer/hf_llama3_small.json (a cut of the real Llama-3
tokenizer.json: 703 byte-level BPE tokens + <|begin_of_text|> 703 ... <|eot_id|> 707; vocabulary 712): refs.txt
also holds its perplexity on the Hugging Face reference ids of the stress corpus (stress_hf_llama3_small.ids.json,
"whole"), line "llama32-text 128 ppl n_ids n_scored", which tests/cli/arch.sh compares with `llq-eval ppl --text
stress.txt` (llq's own tokenization of the text).
Every model: hidden 64, 2 layers, vocabulary 256 (llama32: 712, qwen2-untied: 880, llama31-meta: 959, smollm2:
720, mistral-meta and tinyllama: 500), bf16 weights (f32 norms),
so each fixture is ~150-270 KB. The vocabulary is small on purpose (a 128,256-row embedding would be 4-16 MB);
perplexity inputs are token ids < 256.

The reference forward pass is written here from each family's definition, in float64 on the bf16 weights:
HF models rotate halves (rotate_half on the checkpoint's q/k rows as stored), Meta's rotates interleaved
pairs (complex multiplication); llama3 frequencies follow HF's _compute_llama3_parameters / Meta's
apply_scaling; the sliding window lets query i see keys j with i - W < j <= i (HF eager, mistral-inference).
Perplexity: non-overlapping windows of ctx tokens from the start, every position but the last predicting the
next token (llq-eval's default protocol); exp of the mean NLL.
"""
import json
import math
import os
import shutil
import struct

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "arch")
TOKFIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "tokenizer")
VOCAB_DEFAULT, DIM, LAYERS, FFN, N_TOKENS = 256, 64, 2, 128, 1024
# qwen2-untied uses tests/fixtures/tokenizer/hf_qwen_small.json (a cut of the real Qwen tokenizer.json: 856 BPE
# tokens + <|endoftext|> 856, <|im_start|> 857, <|im_end|> 858, ...), so its vocabulary is 880; tests/cli/arch.sh
# converts it with --tokenizer and generates from the prompt "<|im_start|>" (one id, 857): greedy, the model's EOS
# list (856, 858 and the third greedy token, computed here) stops it after exactly two tokens.
PROMPT = [857]
# "hello" in bpe_ws.model with its BOS, as llq-eval tokenize --bos gives it (SentencePiece-exact: test_tokenizer.c)
PROMPT_SPM = [1, 444, 65, 454, 168]
CTXS = (128, 1024)

FAMILIES = {
    "llama32": dict(layout="hf", arch="LlamaForCausalLM", model_type="llama", heads=2, kv=1, head_dim=32,
                    theta=500000.0, tied=True, bias=False, window=0, ctx=131072,
                    scaling=dict(rope_type="llama3", factor=32.0, low_freq_factor=1.0, high_freq_factor=4.0,
                                 original_max_position_embeddings=8192),
                    bos=703, eos=[704, 707], seed=11, vocab=712, text_ids="stress_hf_llama3_small.ids.json",
                    prompt=[706]),
    "llama31-meta": dict(layout="meta", heads=2, kv=1, head_dim=32, theta=500000.0, tied=False, bias=False,
                         window=0, ctx=0,
                         scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                                      original_max_position_embeddings=8192), seed=12, vocab=703 + 256,
                         tiktoken="hf_llama3_small.json", text_ids="stress_tiktoken_small_llama31.ids.json",
                         text_bos=703, eos=[704, 711, 712]),
    "qwen2": dict(layout="hf", arch="Qwen2ForCausalLM", model_type="qwen2", heads=4, kv=2, head_dim=16,
                  theta=1000000.0, tied=True, bias=True, window=0, ctx=32768, scaling=None, bos=None, eos=[5],
                  seed=13),
    "qwen2-untied": dict(layout="hf", arch="Qwen2ForCausalLM", model_type="qwen2", heads=4, kv=2, head_dim=16,
                         theta=1000000.0, tied=False, bias=True, window=0, ctx=32768, scaling=None, bos=None,
                         eos=[856, 858], seed=14, vocab=880, tokenizer="hf_qwen_small.json", prompt=PROMPT),
    "mistral": dict(layout="hf", arch="MistralForCausalLM", model_type="mistral", heads=4, kv=2, head_dim=32,
                    theta=10000.0, tied=False, bias=False, window=48, ctx=32768, scaling=None, bos=1, eos=[2],
                    seed=15),
    # Mistral's own download (mistral-inference): params.json with sliding_window and head_dim, Meta's tensor names
    # and interleaved q/k rows in consolidated.safetensors, SentencePiece tokenizer.model (bpe_ws.model, 500 ids);
    # seed 47: the first from 16 up whose greedy continuation of "hello" reaches the EOS id 2 within 9 tokens
    "mistral-meta": dict(layout="meta", meta_format="safetensors", heads=4, kv=2, head_dim=32, theta=10000.0,
                         tied=False, bias=False, window=48, ctx=0, scaling=None, seed=47, vocab=500,
                         spm="bpe_ws.model", prompt=PROMPT_SPM, eos=[2]),
    # SmolLM2: LlamaForCausalLM, tied, rope_theta 100000, GPT-2-style tokenizer.json (hf_smollm2_small.json)
    "smollm2": dict(layout="hf", arch="LlamaForCausalLM", model_type="llama", heads=4, kv=1, head_dim=16,
                    theta=100000.0, tied=True, bias=False, window=0, ctx=8192, scaling=None, bos=1, eos=[2],
                    seed=17, vocab=720, tokenizer="hf_smollm2_small.json", prompt=[1],
                    text_ids="stress_hf_smollm2_small.ids.json"),
    # TinyLlama: Llama-2 SentencePiece tokenizer.model beside the checkpoint, GQA ratio 8 (32/4 in the real one)
    "tinyllama": dict(layout="hf", arch="LlamaForCausalLM", model_type="llama", heads=8, kv=1, head_dim=8,
                      theta=10000.0, tied=False, bias=False, window=0, ctx=2048, scaling=None, bos=1, eos=[2],
                      seed=18, vocab=500, spm="bpe_ws.model", prompt=PROMPT_SPM),
}


def bf16(t):
    return t.to(torch.bfloat16)


def make_weights(c):
    """HF names, HF q/k row order (what the reference rotates as rotate_half); bf16 matrices, f32 norms."""
    g = torch.Generator().manual_seed(c["seed"])
    VOCAB = c.get("vocab", VOCAB_DEFAULT)
    H, KV, hd = c["heads"], c["kv"], c["head_dim"]

    def lin(o, i, gain=1.0):
        return bf16(gain * torch.randn(o, i, generator=g) / i ** 0.5)

    def norm():
        return 1.0 + 0.2 * torch.randn(DIM, generator=g)

    w = {"model.embed_tokens.weight": bf16(0.25 * torch.randn(VOCAB, DIM, generator=g))}
    for l in range(LAYERS):
        p = f"model.layers.{l}."
        w[p + "input_layernorm.weight"] = norm()
        w[p + "self_attn.q_proj.weight"] = lin(H * hd, DIM, 3.0)  # sharp attention: rotary matters
        w[p + "self_attn.k_proj.weight"] = lin(KV * hd, DIM, 3.0)
        w[p + "self_attn.v_proj.weight"] = lin(KV * hd, DIM)
        if c["bias"]:
            w[p + "self_attn.q_proj.bias"] = bf16(0.5 * torch.randn(H * hd, generator=g))
            w[p + "self_attn.k_proj.bias"] = bf16(0.5 * torch.randn(KV * hd, generator=g))
            w[p + "self_attn.v_proj.bias"] = bf16(0.5 * torch.randn(KV * hd, generator=g))
        w[p + "self_attn.o_proj.weight"] = lin(DIM, H * hd)
        w[p + "post_attention_layernorm.weight"] = norm()
        w[p + "mlp.gate_proj.weight"] = lin(FFN, DIM)
        w[p + "mlp.up_proj.weight"] = lin(FFN, DIM)
        w[p + "mlp.down_proj.weight"] = lin(DIM, FFN)
    w["model.norm.weight"] = norm()
    if not c["tied"]:
        w["lm_head.weight"] = lin(VOCAB, DIM)
    return w


def inv_freq(hd, theta, scaling):
    inv = 1.0 / theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd)
    if scaling is None:
        return inv
    f = scaling["factor"]
    if scaling["rope_type"] == "linear":
        return inv / f
    lo, hi, orig = scaling["low_freq_factor"], scaling["high_freq_factor"], scaling["original_max_position_embeddings"]
    out = []
    for fr in inv.tolist():  # Meta's apply_scaling, literally
        wavelen = 2 * math.pi / fr
        if wavelen < orig / hi:
            out.append(fr)
        elif wavelen > orig / lo:
            out.append(fr / f)
        else:
            smooth = (orig / wavelen - lo) / (hi - lo)
            out.append((1 - smooth) * fr / f + smooth * fr)
    return torch.tensor(out, dtype=torch.float64)


def rmsnorm(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w.double()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rope_neox(x, cos, sin):  # HF: x [H, T, hd]
    return x * cos + rotate_half(x) * sin


def rope_interleaved(x, cos, sin):  # Meta: pairs (2i, 2i+1) as complex numbers; cos/sin [T, hd/2]
    xr, xi = x[..., 0::2], x[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = xr * cos - xi * sin
    out[..., 1::2] = xr * sin + xi * cos
    return out


def forward(w, c, tokens, scaling, window, meta_rope):
    """logits [T, vocab] in float64. w in HF names; meta_rope: q/k rows are in Meta's interleaved order."""
    T = len(tokens)
    H, KV, hd = c["heads"], c["kv"], c["head_dim"]
    W = {k: v.double() for k, v in w.items()}
    x = W["model.embed_tokens.weight"][torch.tensor(tokens)]
    freqs = torch.outer(torch.arange(T, dtype=torch.float64), inv_freq(hd, c["theta"], scaling))
    if meta_rope:
        cos, sin = freqs.cos(), freqs.sin()
        rope = rope_interleaved
    else:
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        rope = rope_neox
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    allowed = j <= i
    if window:
        allowed = allowed & (i - j < window)
    for l in range(LAYERS):
        p = f"model.layers.{l}."
        h = rmsnorm(x, W[p + "input_layernorm.weight"])
        q = h @ W[p + "self_attn.q_proj.weight"].T
        k = h @ W[p + "self_attn.k_proj.weight"].T
        v = h @ W[p + "self_attn.v_proj.weight"].T
        if c["bias"]:
            q = q + W[p + "self_attn.q_proj.bias"]
            k = k + W[p + "self_attn.k_proj.bias"]
            v = v + W[p + "self_attn.v_proj.bias"]
        q = rope(q.view(T, H, hd).transpose(0, 1), cos, sin)
        k = rope(k.view(T, KV, hd).transpose(0, 1), cos, sin)
        v = v.view(T, KV, hd).transpose(0, 1)
        k = k.repeat_interleave(H // KV, dim=0)
        v = v.repeat_interleave(H // KV, dim=0)
        s = (q @ k.transpose(1, 2)) / math.sqrt(hd)
        s = s.masked_fill(~allowed, float("-inf"))
        o = (torch.softmax(s, dim=-1) @ v).transpose(0, 1).reshape(T, H * hd)
        x = x + o @ W[p + "self_attn.o_proj.weight"].T
        h = rmsnorm(x, W[p + "post_attention_layernorm.weight"])
        gate = h @ W[p + "mlp.gate_proj.weight"].T
        x = x + (torch.nn.functional.silu(gate) * (h @ W[p + "mlp.up_proj.weight"].T)) @ W[p + "mlp.down_proj.weight"].T
    x = rmsnorm(x, W["model.norm.weight"])
    head = W["model.embed_tokens.weight"] if c["tied"] else W["lm_head.weight"]
    return x @ head.T


def ppl(w, c, tokens, ctx, scaling, window, meta_rope):
    total, n = 0.0, 0
    for s in range(0, len(tokens) - ctx + 1, ctx):
        win = tokens[s:s + ctx]
        lp = torch.log_softmax(forward(w, c, win, scaling, window, meta_rope), dim=-1)
        for t in range(ctx - 1):
            total -= lp[t, win[t + 1]].item()
            n += 1
    return math.exp(total / n)


def hf_to_meta_rows(t, heads):
    """HF's rotary permutation undone: rows of each head from (halves) back to (interleaved pairs)."""
    rows = t.shape[0]
    hd = rows // heads
    idx = []
    for h in range(heads):
        for r in range(hd):
            idx.append(h * hd + (r % 2) * (hd // 2) + r // 2)
    return t[torch.tensor(idx)]


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        if t.dtype == torch.bfloat16:
            data, dt = t.contiguous().view(torch.int16).numpy().tobytes(), "BF16"
        else:
            data, dt = t.float().contiguous().numpy().tobytes(), "F32"
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            f.write(b)


def write_hf(d, name, c, w):
    cfg = {"architectures": [c["arch"]], "model_type": c["model_type"], "hidden_size": DIM,
           "intermediate_size": FFN, "num_hidden_layers": LAYERS, "num_attention_heads": c["heads"],
           "num_key_value_heads": c["kv"], "vocab_size": c.get("vocab", VOCAB_DEFAULT), "rms_norm_eps": 1e-5, "rope_theta": c["theta"],
           "max_position_embeddings": c["ctx"], "hidden_act": "silu", "tie_word_embeddings": c["tied"],
           "rope_scaling": c["scaling"], "torch_dtype": "bfloat16"}
    if c["head_dim"] * c["heads"] != DIM or name == "llama32":
        cfg["head_dim"] = c["head_dim"]
    if c["bos"] is not None:
        cfg["bos_token_id"] = c["bos"]
    cfg["eos_token_id"] = c["eos"] if len(c["eos"]) > 1 else c["eos"][0]
    if c["model_type"] == "mistral":
        cfg["sliding_window"] = c["window"]
    if c["model_type"] == "qwen2":
        cfg["sliding_window"] = 32768
        cfg["use_sliding_window"] = False
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    write_safetensors(os.path.join(d, "model.safetensors"), w)
    if c.get("spm"):  # a SentencePiece tokenizer.model beside the checkpoint, as TinyLlama's repository has
        shutil.copyfile(os.path.join(TOKFIX, c["spm"]), os.path.join(d, "tokenizer.model"))


def gpt2_byte_decoder():
    """GPT-2 / byte-level BPE: the printable character standing for each byte, inverted."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) + \
        list(range(ord("\xae"), ord("\xff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def write_tiktoken(path, hf_json):
    """Meta's tokenizer.model format from a byte-level tokenizer.json's BPE vocabulary: base64(bytes) rank."""
    import base64
    with open(hf_json) as f:
        vocab = json.load(f)["model"]["vocab"]
    dec = gpt2_byte_decoder()
    with open(path, "w") as f:
        for tok, rank in sorted(vocab.items(), key=lambda kv: kv[1]):
            f.write("%s %d\n" % (base64.b64encode(bytes(dec[ch] for ch in tok)).decode(), rank))
    return len(vocab)


def write_meta(d, c, w):
    H, KV = c["heads"], c["kv"]
    m = {"tok_embeddings.weight": w["model.embed_tokens.weight"], "norm.weight": w["model.norm.weight"].to(torch.bfloat16),
         "output.weight": w["lm_head.weight"]}
    for l in range(LAYERS):
        p, q = f"model.layers.{l}.", f"layers.{l}."
        m[q + "attention.wq.weight"] = hf_to_meta_rows(w[p + "self_attn.q_proj.weight"], H)
        m[q + "attention.wk.weight"] = hf_to_meta_rows(w[p + "self_attn.k_proj.weight"], KV)
        m[q + "attention.wv.weight"] = w[p + "self_attn.v_proj.weight"]
        m[q + "attention.wo.weight"] = w[p + "self_attn.o_proj.weight"]
        m[q + "feed_forward.w1.weight"] = w[p + "mlp.gate_proj.weight"]
        m[q + "feed_forward.w2.weight"] = w[p + "mlp.down_proj.weight"]
        m[q + "feed_forward.w3.weight"] = w[p + "mlp.up_proj.weight"]
        m[q + "attention_norm.weight"] = w[p + "input_layernorm.weight"].to(torch.bfloat16)
        m[q + "ffn_norm.weight"] = w[p + "post_attention_layernorm.weight"].to(torch.bfloat16)
    if c.get("meta_format") == "safetensors":  # mistral-inference's consolidated.safetensors
        write_safetensors(os.path.join(d, "consolidated.safetensors"), m)
    else:
        torch.save({k: v.clone() for k, v in m.items()}, os.path.join(d, "consolidated.00.pth"))
    # FFN: int(2 * 4 * 64 / 3) = 170 -> * 1.5 = 255 -> multiple of 128 = 256? no: chosen so the formula gives 128
    if c.get("tiktoken"):  # Meta's download: tokenizer.model (tiktoken) beside consolidated.00.pth
        n = write_tiktoken(os.path.join(d, "tokenizer.model"), os.path.join(TOKFIX, c["tiktoken"]))
        assert n + 256 == c["vocab"]
    if c.get("spm"):
        shutil.copyfile(os.path.join(TOKFIX, c["spm"]), os.path.join(d, "tokenizer.model"))
    if c["window"]:  # Mistral-7B-v0.1's params.json: head_dim, hidden_dim, sliding_window
        params = {"dim": DIM, "n_layers": LAYERS, "head_dim": c["head_dim"], "hidden_dim": FFN, "n_heads": H,
                  "n_kv_heads": KV, "norm_eps": 1e-5, "sliding_window": c["window"], "vocab_size": c["vocab"],
                  "rope_theta": c["theta"]}
    else:
        params = {"dim": DIM, "n_layers": LAYERS, "n_heads": H, "n_kv_heads": KV, "vocab_size": c["vocab"],
                  "multiple_of": 128, "ffn_dim_multiplier": 0.75, "norm_eps": 1e-5, "rope_theta": c["theta"],
                  "use_scaled_rope": True}
    with open(os.path.join(d, "params.json"), "w") as f:
        json.dump(params, f, indent=2)
    return m


PROMPT_TEXT = {"llama32": "<|end_header_id|>", "qwen2-untied": "<|im_start|>", "smollm2": "<|im_start|>",
               "tinyllama": "hello"}


SMOLLM2_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<repo_name>", "<reponame>", "<file_sep>",
                    "<filename>", "<gh_stars>", "<issue_start>", "<issue_comment>", "<issue_closed>",
                    "<jupyter_start>", "<jupyter_text>", "<jupyter_code>", "<jupyter_output>", "<jupyter_script>",
                    "<empty_output>"]  # ids 0..16 of hf_smollm2_small.json (tests/make_tok_fixtures.py)


def llama31_special(i):
    """Name of special token i (0..255) as Meta's llama-models (Llama-3.1+) names them (tokenizer/tiktoken.c)."""
    named = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>", "<|reserved_special_token_1|>",
             "<|finetune_right_pad_id|>", "<|step_id|>", "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>",
             "<|eot_id|>", "<|python_tag|>", "<|image|>"]
    return named[i] if i < len(named) else "<|reserved_special_token_%d|>" % (2 + i - len(named))


def greedy(w, c, prompt, n, stop, meta_rope):
    """Up to n greedy tokens after prompt (ids), stopping before any id in stop."""
    ids = list(prompt)
    out = []
    for _ in range(n):
        t = int(forward(w, c, ids, c["scaling"], c["window"], meta_rope)[-1].argmax())
        if t in stop:
            break
        out.append(t)
        ids.append(t)
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(7)
    tokens = torch.randint(0, VOCAB_DEFAULT, (N_TOKENS,), generator=g).tolist()
    with open(os.path.join(OUT, "tokens.u32"), "wb") as f:
        f.write(struct.pack("<%dI" % len(tokens), *tokens))
    lines = []
    for name, c in FAMILIES.items():
        d = os.path.join(OUT, name)
        os.makedirs(d, exist_ok=True)
        for old in os.listdir(d):
            os.remove(os.path.join(d, old))
        w = make_weights(c)
        if c.get("prompt") and c["layout"] == "hf":
            # greedy continuation of the prompt ids; its third new token joins the config's EOS ids, so
            # llq-eval generate must stop after exactly two tokens
            # (smollm2: the first of its special tokens for which that third token is new)
            cands = [(PROMPT_TEXT[name], c["prompt"])]
            if name == "smollm2":
                cands = [(t, [i]) for i, t in enumerate(SMOLLM2_SPECIALS) if i not in c["eos"]]
            for text, prompt in cands:
                gen = greedy(w, c, prompt, 3, [], False)
                if gen[2] not in gen[:2] and gen[2] not in c["eos"] + prompt:
                    break
            assert gen[2] not in gen[:2] and gen[2] not in c["eos"], gen
            c["eos"] = c["eos"] + [gen[2]]
            lines.append("# %s greedy from %s: %s (stops before %d)" % (name, prompt, gen, gen[2]))
            lines.append("gen %s %s 2" % (name, text))
            print(lines[-1])
        if c["layout"] == "hf":
            write_hf(d, name, c, w)
            meta_rope, wref = False, w
        else:
            assert int(int(2 * 4 * DIM / 3) * 0.75 + 127) // 128 * 128 == FFN
            m = write_meta(d, c, w)
            # the reference runs on the Meta tensors (interleaved q/k rows), under the HF names forward() reads
            wref = dict(w)
            for l in range(LAYERS):
                wref[f"model.layers.{l}.self_attn.q_proj.weight"] = m[f"layers.{l}.attention.wq.weight"]
                wref[f"model.layers.{l}.self_attn.k_proj.weight"] = m[f"layers.{l}.attention.wk.weight"]
            # norms as stored (bf16)
            for k in list(wref):
                if k.endswith("layernorm.weight") or k == "model.norm.weight":
                    wref[k] = wref[k].to(torch.bfloat16)
            meta_rope = True
            # Meta's params.json names no EOS: the tokenizer's stop ids (c["eos"]) end generation. llama31-meta: the
            # first special-token prompt whose greedy continuation reaches one of them within 9 tokens
            cands = [(t, [703, 703 + t]) for t in range(2, 256)] if c.get("tiktoken") else [("hello", c["prompt"])]
            for t, prompt in cands:
                gen = greedy(wref, c, prompt, 10, c["eos"], True)
                if len(gen) < 10 or len(cands) == 1:
                    break
            text = llama31_special(t) if c.get("tiktoken") else t
            lines.append("# %s greedy from %s: %s" % (name, prompt, gen))
            lines.append("gen %s %s %d" % (name, text, len(gen)))
            print(lines[-1])
        if c.get("text_ids"):  # perplexity of HF's ids of the stress corpus (the whole file) at ctx 128
            with open(os.path.join(TOKFIX, c["text_ids"])) as f:
                whole = json.load(f)["whole"]
            if "text_bos" in c:  # llq-eval ppl --text puts the tokenizer's BOS first
                whole = [c["text_bos"]] + whole
            p = ppl(wref, c, whole, 128, c["scaling"], c["window"], meta_rope)
            lines.append("%s-text 128 %.17g %d %d" % (name, p, len(whole), len(whole) // 128 * 127))
            print(lines[-1], flush=True)
        for ctx in CTXS:
            p = ppl(wref, c, tokens, ctx, c["scaling"], c["window"], meta_rope)
            p_ns = ppl(wref, c, tokens, ctx, None, c["window"], meta_rope) if c["scaling"] else p
            p_nw = ppl(wref, c, tokens, ctx, c["scaling"], 0, meta_rope) if c["window"] else p
            lines.append("%s %d %.17g %.17g %.17g" % (name, ctx, p, p_ns, p_nw))
            print(lines[-1], flush=True)
    with open(os.path.join(OUT, "refs.txt"), "w") as f:
        f.write("# model ctx ppl ppl_without_rope_scaling ppl_without_sliding_window (tests/make_arch_fixtures.py)\n")
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
