#!/usr/bin/env python3
"""Small tokenizer.json fixtures for tests/unit/test_bpe.c (tests/fixtures/tokenizer/hf_*.json), so that
`make test` checks exactness without the real 9-11 MB files:

  hf_llama3_small.json  byte-level BPE cut from ../shared/tokenizers/llama3/tokenizer.json: the 256 byte tokens,
                        the results of its first 600 merges ("a b" merges), ignore_merges, the Llama-3 regex,
                        a few special tokens.
  hf_qwen_small.json    the same from ../shared/tokenizers/qwen3/tokenizer.json: NFC normalizer, ["a", "b"]
                        merges, the Qwen regex (\\p{N} one digit at a time), special and non-special added tokens.
  hf_smollm2_small.json in SmolLM2's shape (HuggingFaceTB/SmolLM2-*: GPT-2-style, no Split): 17 special tokens
                        first (<|endoftext|> 0, <|im_start|> 1, <|im_end|> 2, <repo_name> 3, ...), pre-tokenizer
                        Sequence[Digits(individual_digits), ByteLevel(use_regex: GPT-2's regex, no prefix space)],
                        no normalizer, ignore_merges false; its BPE vocabulary and merges are hf_llama3_small.json's
                        (SmolLM2's own 49,152 are not available here), shifted by 17; 720 ids.
  hf_spm_legacy.json    SentencePiece-style (as Llama-2 / TinyLlama HF repos ship): models/pydoc-7m/tokenizer.model
                        turned into vocab + merges, normalizer Prepend("▁") + Replace(" ", "▁"), byte fallback,
                        decoder Replace + ByteFallback + Fuse + Strip.
  hf_spm_metaspace.json the same vocabulary with the newer form (as Mistral repos ship): no normalizer,
                        Metaspace pre-tokenizer (prepend_scheme "first", split false).

Needs ../shared (the real files) and Debian's python3-sentencepiece: run with /usr/bin/python3. Then
tests/interop/make_tok_refs.js writes the reference ids (see tests/interop/make_refs.sh)."""
import json, os, sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
shared = next((p for p in (os.path.join(root, '..', 'shared', 'tokenizers'),
                           os.path.join(root, '..', '..', 'shared', 'tokenizers')) if os.path.isdir(p)), None)
out_dir = os.path.join(here, 'fixtures', 'tokenizer')


def cut_bytelevel(src, n_merges, specials, out, extra=None):
    t = json.load(open(src, encoding='utf-8'))
    m = t['model']
    vocab = m['vocab']
    merges = [tuple(x.split(' ')) if isinstance(x, str) else tuple(x) for x in m['merges'][:n_merges]]
    # the 256 single-character (byte) tokens, then the merge results, in their original id order
    keep = {k for k in vocab if len(k) == 1}
    for a, b in merges:
        keep.update((a, b, a + b))
    order = sorted(keep, key=lambda k: vocab[k])
    new_vocab = {k: i for i, k in enumerate(order)}
    form_array = not isinstance(m['merges'][0], str)
    nm = m.copy()
    nm['vocab'] = new_vocab
    nm['merges'] = [[a, b] if form_array else a + ' ' + b for a, b in merges]
    added = []
    by_content = {a['content']: a for a in t['added_tokens']}
    for i, c in enumerate(specials):
        a = dict(by_content[c])
        a['id'] = len(order) + i
        added.append(a)
    t['model'] = nm
    t['added_tokens'] = added
    if t.get('post_processor') and t['post_processor'].get('type') == 'TemplateProcessing':
        t['post_processor'] = None
    if extra:
        extra(t)
    with open(out, 'w', encoding='utf-8') as f:
        json.dump(t, f, ensure_ascii=False, indent=1)
    print(out, len(new_vocab), 'vocab,', len(merges), 'merges,', len(added), 'added')


def spm_json(model, out, metaspace):
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=model)
    n = sp.get_piece_size()
    vocab = {sp.id_to_piece(i): i for i in range(n)}
    scores = {sp.id_to_piece(i): sp.get_score(i) for i in range(n)}
    # merges as transformers' SentencePieceExtractor makes them: every split of a normal piece into two pieces,
    # ordered by the piece's score (highest first), then by the ids of the two parts
    merges = []
    for i in range(n):
        if not sp.is_control(i) and not sp.is_unknown(i) and not sp.is_byte(i):
            p = sp.id_to_piece(i)
            local = [(p[:k], p[k:]) for k in range(1, len(p)) if p[:k] in vocab and p[k:] in vocab]
            local.sort(key=lambda x: (vocab[x[0]], vocab[x[1]]))
            merges += [(a, b, scores[p]) for a, b in local]
    merges.sort(key=lambda x: -x[2])
    added = [{'id': i, 'content': sp.id_to_piece(i), 'single_word': False, 'lstrip': False, 'rstrip': False,
              'normalized': False, 'special': True} for i in range(n) if sp.is_control(i) or sp.is_unknown(i)]
    model_part = {'type': 'BPE', 'dropout': None, 'unk_token': sp.id_to_piece(sp.unk_id()),
                  'continuing_subword_prefix': None, 'end_of_word_suffix': None, 'fuse_unk': True,
                  'byte_fallback': True, 'ignore_merges': False, 'vocab': vocab,
                  'merges': [a + ' ' + b for a, b, _ in merges]}
    if metaspace:
        normalizer = None
        pre = {'type': 'Metaspace', 'replacement': '\u2581', 'prepend_scheme': 'first', 'split': False}
    else:
        normalizer = {'type': 'Sequence', 'normalizers': [{'type': 'Prepend', 'prepend': '\u2581'},
                                                          {'type': 'Replace', 'pattern': {'String': ' '},
                                                           'content': '\u2581'}]}
        pre = None
    # both forms decode alike (Mistral's Metaspace files keep this decoder too)
    decoder = {'type': 'Sequence', 'decoders': [
            {'type': 'Replace', 'pattern': {'String': '\u2581'}, 'content': ' '}, {'type': 'ByteFallback'},
            {'type': 'Fuse'}, {'type': 'Strip', 'content': ' ', 'start': 1, 'stop': 0}]}
    t = {'version': '1.0', 'truncation': None, 'padding': None, 'added_tokens': added, 'normalizer': normalizer,
         'pre_tokenizer': pre, 'post_processor': None, 'decoder': decoder, 'model': model_part}
    with open(out, 'w', encoding='utf-8') as f:
        json.dump(t, f, ensure_ascii=False, indent=1)
    print(out, n, 'vocab,', len(merges), 'merges')


if not shared:
    sys.exit('make_tok_fixtures.py: ../shared/tokenizers not found')
cut_bytelevel(os.path.join(shared, 'llama3', 'tokenizer.json'), 600,
              ['<|begin_of_text|>', '<|end_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'],
              os.path.join(out_dir, 'hf_llama3_small.json'))
cut_bytelevel(os.path.join(shared, 'qwen3', 'tokenizer.json'), 600,
              ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<think>', '</think>', '<tool_call>'],
              os.path.join(out_dir, 'hf_qwen_small.json'))
SMOLLM2_SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<repo_name>', '<reponame>', '<file_sep>',
                    '<filename>', '<gh_stars>', '<issue_start>', '<issue_comment>', '<issue_closed>', '<jupyter_start>',
                    '<jupyter_text>', '<jupyter_code>', '<jupyter_output>', '<jupyter_script>', '<empty_output>']


def smollm2_shape(src, out):
    t = json.load(open(src, encoding='utf-8'))
    m = t['model']
    k = len(SMOLLM2_SPECIALS)
    # the special tokens are in the model's vocab too, as in SmolLM2's file: Hugging Face gives an added token that
    # is not in the vocab the next free id (vocab size, ...) whatever id added_tokens says
    m['vocab'] = dict({c: i for i, c in enumerate(SMOLLM2_SPECIALS)}, **{tok: i + k for tok, i in m['vocab'].items()})
    m['ignore_merges'] = False
    t['added_tokens'] = [{'id': i, 'content': c, 'single_word': False, 'lstrip': False, 'rstrip': False,
                          'normalized': False, 'special': True} for i, c in enumerate(SMOLLM2_SPECIALS)]
    t['normalizer'] = None
    t['pre_tokenizer'] = {'type': 'Sequence', 'pretokenizers': [
        {'type': 'Digits', 'individual_digits': True},
        {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True}]}
    t['post_processor'] = {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': False, 'use_regex': True}
    t['decoder'] = {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True}
    with open(out, 'w', encoding='utf-8') as f:
        json.dump(t, f, ensure_ascii=False, indent=1)
    print(out, len(m['vocab']), 'vocab (specials included),', len(m['merges']), 'merges,', k, 'added')


smollm2_shape(os.path.join(out_dir, 'hf_llama3_small.json'), os.path.join(out_dir, 'hf_smollm2_small.json'))
spm_json(os.path.join(root, 'models', 'pydoc-7m', 'tokenizer.model'), os.path.join(out_dir, 'hf_spm_legacy.json'),
         False)
spm_json(os.path.join(root, 'models', 'pydoc-7m', 'tokenizer.model'),
         os.path.join(out_dir, 'hf_spm_metaspace.json'), True)
