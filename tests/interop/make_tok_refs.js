#!/usr/bin/env node
// make_tok_refs.js — reference token ids from Hugging Face's Rust tokenizers (npm @anush008/tokenizers) for the
// stress corpus. Usage: node make_tok_refs.js TOKENIZER.json CORPUS OUT.json
// The corpus is bytes; cases are separated by "\n\x1e\n". Each case (and the whole file) is decoded to a
// JavaScript string with Buffer.toString('utf8'), which replaces invalid UTF-8 by U+FFFD per maximal invalid
// subpart (WHATWG), the same rule as Rust's String::from_utf8_lossy; llq applies that rule itself.
// Ids are encode(text, null, {addSpecialTokens: false}): no BOS/post-processing, added tokens matched.
'use strict';
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require('@anush008/tokenizers');

const { splitCases } = require('./stress_cases');

(async () => {
    const [tokPath, corpusPath, outPath] = process.argv.slice(2);
    if (!outPath) { console.error('usage: node make_tok_refs.js TOKENIZER.json CORPUS OUT.json'); process.exit(2); }
    const t = await Tokenizer.fromFile(tokPath);
    const corpus = fs.readFileSync(corpusPath);
    const enc = async (b) => Array.from((await t.encode(b.toString('utf8'), null, { addSpecialTokens: false })).getIds());
    const cases = [];
    for (const c of splitCases(corpus)) cases.push(await enc(c));
    const whole = await enc(corpus);
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, 'node_modules/@anush008/tokenizers/package.json')));
    const out = { tokenizer: path.basename(path.dirname(path.resolve(tokPath))) + '/' + path.basename(tokPath),
                  reference: '@anush008/tokenizers ' + pkg.version, corpus: path.basename(corpusPath),
                  corpus_bytes: corpus.length, cases, whole };
    fs.writeFileSync(outPath, JSON.stringify(out) + '\n');
    console.log(outPath + ': ' + cases.length + ' cases, ' + cases.reduce((a, c) => a + c.length, 0) + ' + ' +
                whole.length + ' ids');
})();
