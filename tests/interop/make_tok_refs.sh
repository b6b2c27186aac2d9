#!/bin/sh
# make_tok_refs.sh — regenerates every reference id file of the tokenizer stress corpus (run from anywhere):
# the committed small fixtures always, the real Llama-3 / Qwen tokenizers when ../shared/tokenizers is present.
# Needs `npm ci` in tests/interop (HF's Rust tokenizers as @anush008/tokenizers; tiktoken and js-tiktoken for the
# tiktoken tokenizer.model files, special tokens named as Llama-3 and as Llama-3.1: make_tiktoken_refs.js).
set -e
here=$(cd "$(dirname "$0")" && pwd)
fx=$here/../fixtures/tokenizer
/usr/bin/python3 "$here/../make_tok_stress.py"
for t in hf_llama3_small hf_qwen_small hf_smollm2_small hf_spm_legacy hf_spm_metaspace; do
    node "$here/make_tok_refs.js" "$fx/$t.json" "$fx/stress.txt" "$fx/stress_$t.ids.json"
done
for k in llama3 llama31; do
    node "$here/make_tiktoken_refs.js" "$here/../fixtures/arch/llama31-meta/tokenizer.model" "$fx/stress.txt" \
        "$fx/stress_tiktoken_small_$k.ids.json" $k
done
for s in "$here/../../../shared/tokenizers" "$here/../../../../shared/tokenizers"; do
    if [ -d "$s" ]; then
        for t in llama3 qwen3; do
            node "$here/make_tok_refs.js" "$s/$t/tokenizer.json" "$fx/stress.txt" "$fx/stress_$t.ids.json"
        done
        for k in llama3 llama31; do # Meta's tokenizer.model of Llama-3: the tokenizer.json's vocabulary as ranks
            node "$here/make_tiktoken_refs.js" "$s/llama3/tokenizer.json" "$fx/stress.txt" \
                "$fx/stress_llama3_tiktoken_$k.ids.json" $k
        done
        break
    fi
done
