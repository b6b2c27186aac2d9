#!/usr/bin/python3
"""make_full_refs.py — PyTorch reference perplexities of the real-vocabulary tiny models (tests/cli/fullvocab.sh).

The models are not committed (16-19 MB each): tests/mkfull.c writes them deterministically (integer generator,
exact float operations), and this script runs that same generator, reads the safetensors file it wrote and
computes the reference from it:
  llama3   Llama-3.2-style, 128,256 rows (the real Llama-3 tokenizer), tied, llama3 rope scaling (factor 32)
  qwen     Qwen2.5-style, 151,936 rows (padded; the shared Qwen tokenizer.json has 151,669 ids), q/k/v biases, tied
Text: the stress corpus as Hugging Face's Rust tokenizers tokenize it with the real files
(tests/fixtures/tokenizer/stress_llama3.ids.json / stress_qwen3.ids.json, "whole"), with the BOS llq-eval ppl
--text puts first when the tokenizer has one (Llama-3: <|begin_of_text|> 128000 from tokenizer_config.json;
Qwen: none). Perplexity at ctx 128 and 1024 (non-overlapping windows, every position but the last predicting the
next token), float64 forward pass of tests/make_arch_fixtures.py on the bf16 weights.

Run after `make build/tests/mkfull`: /usr/bin/python3 tests/make_full_refs.py [BUILD]
Writes tests/fixtures/arch/full_refs.txt: "NAME cksum CRC SIZE" (POSIX cksum of model.safetensors, so the test
notices a generator that wrote other bytes) and "NAME CTX ppl n_ids n_scored".
"""
import json
import os
import subprocess
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_arch_fixtures as arch  # noqa: E402  (forward pass, ppl)

TOKFIX = os.path.join(HERE, "fixtures", "tokenizer")
MODELS = {
    "llama3": dict(heads=2, kv=1, head_dim=32, theta=500000.0, tied=True, bias=False, window=0,
                   scaling=dict(rope_type="llama3", factor=32.0, low_freq_factor=1.0, high_freq_factor=4.0,
                                original_max_position_embeddings=8192),
                   ids="stress_llama3.ids.json", bos=128000),
    "qwen": dict(heads=4, kv=2, head_dim=16, theta=1000000.0, tied=True, bias=True, window=0, scaling=None,
                 ids="stress_qwen3.ids.json", bos=None),
}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        raw = bytearray(data[base + a:base + b])
        if t["dtype"] == "BF16":
            v = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16)
        else:
            v = torch.frombuffer(raw, dtype=torch.float32)
        out[name] = v.reshape(t["shape"]).clone()
    return out


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(HERE), "build")
    lines = []
    for name, c in MODELS.items():
        with tempfile.TemporaryDirectory() as d:
            subprocess.run([os.path.join(build, "tests", "mkfull"), name, d], check=True)
            path = os.path.join(d, "model.safetensors")
            ck = subprocess.run(["cksum", path], check=True, capture_output=True, text=True).stdout.split()
            w = read_safetensors(path)
        lines.append("%s cksum %s %s" % (name, ck[0], ck[1]))
        with open(os.path.join(TOKFIX, c["ids"])) as f:
            ids = json.load(f)["whole"]
        if c["bos"] is not None:
            ids = [c["bos"]] + ids
        for ctx in (128, 1024):
            p = arch.ppl(w, c, ids, ctx, c["scaling"], c["window"], False)
            lines.append("%s %d %.17g %d %d" % (name, ctx, p, len(ids), len(ids) // ctx * (ctx - 1)))
            print(lines[-1], flush=True)
    with open(os.path.join(HERE, "fixtures", "arch", "full_refs.txt"), "w") as f:
        f.write("# real-vocabulary tiny models of tests/mkfull.c: PyTorch ppl of the stress corpus "
                "(tests/make_full_refs.py)\n")
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
