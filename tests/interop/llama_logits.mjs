// llama_logits.mjs — llama.cpp's side of the interop suite (tests/interop/run.sh), through node-llama-cpp 3.21.1
// (prebuilt llama.cpp, CPU):
//   node llama_logits.mjs logp MODEL.gguf VOCAB ID... log of llama.cpp's next-token probabilities after ID... (one a line)
//   node llama_logits.mjs tok MODEL.gguf TEXTFILE   llama.cpp's tokenization of the file (no BOS), one id a line
//   node llama_logits.mjs tokspecial MODEL.gguf TEXTFILE   the same with special tokens parsed (HF matches them too)
import {getLlama} from "node-llama-cpp";
import {readFileSync} from "node:fs";

const [cmd, modelPath, ...rest] = process.argv.slice(2);
const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const model = await llama.loadModel({modelPath});
if (cmd === "tok" || cmd === "tokspecial") {
    const text = readFileSync(rest[0], "utf8");
    for (const t of model.tokenize(text, cmd === "tokspecial"))
        console.log(t);
} else {
    const vocab = Number(rest[0]);
    const ids = rest.slice(1).map(Number);
    // LLQ_KV=F32: an f32 KV cache (llama.cpp's default is F16), for the tiny models whose logits the f16 cache moves
    const kv = process.env.LLQ_KV ? {experimentalKvCacheKeyType: process.env.LLQ_KV, experimentalKvCacheValueType: process.env.LLQ_KV} : {};
    const ctx = await model.createContext({contextSize: 256, batchSize: 256, threads: 1, flashAttention: false, ...kv});
    const seq = ctx.getSequence();
    const items = ids.map((t, i) => i === ids.length - 1
        ? [t, {generateNext: {probabilities: true, options: {temperature: 1, topK: 0, topP: 1, minP: 0}}}] : t);
    const out = await seq.controlledEvaluate(items);
    const probs = out[ids.length - 1].next.probabilities;
    for (let v = 0; v < vocab; v++)
        console.log(Math.log(probs.get(v) ?? 0));
    await ctx.dispose();
}
await model.dispose();
