#!/usr/bin/env node
// make_tiktoken_refs.js — reference token ids from tiktoken itself (npm `tiktoken`: OpenAI's Rust core compiled to
// WASM, the library Meta's Llama-3 tokenizer.py calls) for the stress corpus, on a Meta tokenizer.model (tiktoken
// format: "base64(bytes) rank" lines). Cross-checked with `js-tiktoken` (an independent JavaScript port): the two
// must agree on every case or nothing is written.
// Usage: node make_tiktoken_refs.js TOKENIZER.model CORPUS OUT.json (llama3|llama31)
//   (or a byte-level TOKENIZER.json: its vocabulary is turned into the tiktoken file Meta ships for it)
// The special tokens follow Meta's reference code, ids n_ranks .. n_ranks+255:
//   llama3  (meta-llama/llama3 tokenizer.py): begin_of_text, end_of_text, reserved 0-3, start_header_id,
//           end_header_id, reserved 4, eot_id, reserved 5..250
//   llama31 (meta-llama/llama-models, Llama-3.1+): begin_of_text, end_of_text, reserved 0-1, finetune_right_pad_id,
//           step_id, start_header_id, end_header_id, eom_id, eot_id, python_tag, image, reserved 2..245
// Special tokens written in the text are matched (encode(text, "all")), as Hugging Face's tokenizer.json of the
// same model does; Meta's Tokenizer.encode defaults to allowed_special=set() and would encode them as plain text.
// Cases are split and decoded to strings exactly as make_tok_refs.js does (invalid UTF-8 -> U+FFFD, WHATWG).
'use strict';
const fs = require('fs');
const path = require('path');
const { Tiktoken } = require('tiktoken/lite');
const jsTiktoken = require('js-tiktoken/lite');

const REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|" +
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

function specialNames(kind) {
    let named, firstReserved;
    if (kind === 'llama3') {
        named = ['<|begin_of_text|>', '<|end_of_text|>', '<|reserved_special_token_0|>', '<|reserved_special_token_1|>',
                 '<|reserved_special_token_2|>', '<|reserved_special_token_3|>', '<|start_header_id|>',
                 '<|end_header_id|>', '<|reserved_special_token_4|>', '<|eot_id|>'];
        firstReserved = 5;
    } else if (kind === 'llama31') {
        named = ['<|begin_of_text|>', '<|end_of_text|>', '<|reserved_special_token_0|>', '<|reserved_special_token_1|>',
                 '<|finetune_right_pad_id|>', '<|step_id|>', '<|start_header_id|>', '<|end_header_id|>', '<|eom_id|>',
                 '<|eot_id|>', '<|python_tag|>', '<|image|>'];
        firstReserved = 2;
    } else {
        throw new Error('names must be llama3 or llama31');
    }
    const out = named.slice();
    for (let i = 0; out.length < 256; i++) out.push('<|reserved_special_token_' + (firstReserved + i) + '|>');
    return out;
}

const { splitCases } = require('./stress_cases');

const [modelPath, corpusPath, outPath, kind] = process.argv.slice(2);
if (!kind) { console.error('usage: node make_tiktoken_refs.js TOKENIZER.model CORPUS OUT.json (llama3|llama31)'); process.exit(2); }
// A byte-level tokenizer.json given instead: its vocabulary as tiktoken lines (GPT-2's bytes-to-unicode undone),
// rank = id, as Meta's tokenizer.model of the same model (../shared/tokenizers/README.md)
function tiktokenFromJson(file) {
    const vocab = JSON.parse(fs.readFileSync(file, 'utf8')).model.vocab;
    const bs = [];
    for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
    for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
    for (let b = 0xae; b <= 0xff; b++) bs.push(b);
    const dec = new Map();
    bs.forEach((b) => dec.set(String.fromCodePoint(b), b));
    let extra = 0;
    for (let b = 0; b < 256; b++) if (!bs.includes(b)) dec.set(String.fromCodePoint(256 + extra++), b);
    return Object.entries(vocab).sort((x, y) => x[1] - y[1])
        .map(([tok, rank]) => Buffer.from(Array.from(tok, (ch) => dec.get(ch))).toString('base64') + ' ' + rank + '\n')
        .join('');
}
const ranksText = modelPath.endsWith('.json') ? tiktokenFromJson(modelPath) : fs.readFileSync(modelPath, 'utf8');
const lines = ranksText.split('\n').filter((l) => l.length);
const special = {};
specialNames(kind).forEach((name, i) => { special[name] = lines.length + i; });
const enc = new Tiktoken(ranksText, special, REGEX);
// js-tiktoken's ranks format: lines "! first_rank token token ...", one token per line here
// Node 20's RegExp has no (?i:...) group: the same alternatives with the case folds spelled out (Unicode simple
// case folding of s also gives U+017F LATIN SMALL LETTER LONG S, as in the Rust regex)
const REGEX_JS = "'[sS\u017f]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]" + REGEX.slice(REGEX.indexOf(')|') + 1);
const enc2 = new jsTiktoken.Tiktoken({ pat_str: REGEX_JS, special_tokens: special,
                                       bpe_ranks: lines.map((l) => { const [b, r] = l.split(' '); return '! ' + r + ' ' + b; }).join('\n') });
const corpus = fs.readFileSync(corpusPath);
let mismatches = 0;
const encode = (b) => {
    const s = b.toString('utf8');
    const a = Array.from(enc.encode(s, 'all'));
    const c = enc2.encode(s, 'all');
    if (a.length !== c.length || a.some((x, i) => x !== c[i])) mismatches++;
    return a;
};
const cases = splitCases(corpus).map(encode);
const whole = encode(corpus);
enc.free();
if (mismatches) { console.error(outPath + ': tiktoken and js-tiktoken disagree on ' + mismatches + ' texts'); process.exit(1); }
const ver = (p) => JSON.parse(fs.readFileSync(path.join(__dirname, 'node_modules', p, 'package.json'))).version;
const out = { tokenizer: path.basename(path.dirname(path.resolve(modelPath))) + '/' + path.basename(modelPath) +
                         (modelPath.endsWith('.json') ? ' as tiktoken ranks' : ''),
              special_names: kind, reference: 'tiktoken ' + ver('tiktoken') + ' (checked against js-tiktoken ' +
              ver('js-tiktoken') + ')', corpus: path.basename(corpusPath), corpus_bytes: corpus.length, cases, whole };
fs.writeFileSync(outPath, JSON.stringify(out) + '\n');
console.log(outPath + ': ' + cases.length + ' cases, ' + cases.reduce((a, c) => a + c.length, 0) + ' + ' +
            whole.length + ' ids');
