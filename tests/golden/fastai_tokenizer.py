"""Golden tokens and vocabularies of fastai's text pipeline (fastbook chapter 10), for
`tests/nlp/ulmfit_tokenize.rs`, and the spaCy tables kindling's word splitter is built from.

Run with the peer environment (fastai 2.8.12, spaCy 3.8):

    python fastai_tokenizer.py > fastai_tokenizer.json
    python fastai_tokenizer.py --spacy-tables > ../../crates/nlp/src/ulmfit/tokenize/spacy_en.json
    python fastai_tokenizer.py --html-entities > ../../crates/nlp/src/ulmfit/tokenize/html5_entities.json

Optional last argument: the `shared` folder (default: `../shared` beside the repository), for the
real lines taken from `data/amazon-reviews/training_data.csv` and `data/jane-austen/emma.txt`.

The golden file holds, for ~60 texts (hand-picked hard cases, then real reviews and paragraphs of
Emma split as `fastai_ulmfit.py` does):
- `tokens`: what `Tokenizer.from_df` / `tokenize_df` produce with the defaults, i.e.
  `TokenizeWithRules(WordTokenizer())`: `defaults.text_proc_rules` (fix_html, replace_rep,
  replace_wrep, spec_add_spaces, rm_useless_spaces, replace_all_caps, replace_maj, lowercase),
  spaCy's `blank('en')` tokenizer with fastai's special tokens, then `replace_space`;
- `rules`: each rule applied alone to each hand-picked text (to localise a mismatch);
- `words`: spaCy's split alone (no fastai rules) of strings the rules would otherwise rewrite;
- `vocabs`: `make_vocab(Counter(all tokens in order), min_freq, max_vocab)` for a few settings,
  one of which truncates, one of which lands on a multiple of 8 before the padding;
- `austen`: Jane Austen's six novels, paragraphs as `../shared/peer/fastai_ulmfit.py` cuts them,
  through `tokenize_df`: the number of tokens, the vocabulary's length (min_freq 3) and SHA-256
  fingerprints of all the tokens and of the vocabulary.

`--spacy-tables` writes spaCy's English tokenizer data verbatim: the prefix, suffix and infix
regular expressions, the URL matcher and the 1,347 special cases (exceptions: "don't" -> do n't,
emoticons, abbreviations), which `words.rs` embeds and runs with the same algorithm.
`--html-entities` writes Python's HTML5 entity table, which `rules.rs` embeds for `html.unescape`.
"""
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

import spacy
import fastai
from fastai.text.core import (WordTokenizer, TokenizeWithRules, fix_html, replace_rep, replace_wrep,
                              spec_add_spaces, rm_useless_spaces, replace_all_caps, replace_maj,
                              lowercase, replace_space, tokenize_df)
from fastai.text.data import make_vocab
import pandas as pd

if '--spacy-tables' in sys.argv:
    tok = spacy.blank('en').tokenizer
    rules = [[k, [d[65] for d in v]] for k, v in sorted(tok.rules.items())]
    out = {"spacy_version": spacy.__version__,
           "prefix": tok.prefix_search.__self__.pattern,
           "suffix": tok.suffix_search.__self__.pattern,
           "infix": tok.infix_finditer.__self__.pattern,
           "url": tok.url_match.__self__.pattern,
           "rules": rules}
    # One special case a line, so that a spaCy upgrade shows as a readable diff.
    head = json.dumps({k: v for k, v in out.items() if k != "rules"}, ensure_ascii=False, indent=1)
    lines = ",\n".join(json.dumps(r, ensure_ascii=False) for r in rules)
    print(head[:-2] + ',\n "rules": [\n' + lines + "\n ]\n}")
    sys.exit(0)

if '--html-entities' in sys.argv:
    # Python's `html.entities.html5` (what `html.unescape`, the end of fastai's `fix_html`,
    # looks names up in), one entity a line.
    from html.entities import html5
    lines = ",\n".join(json.dumps(k, ensure_ascii=False) + ": " + json.dumps(v, ensure_ascii=False)
                       for k, v in sorted(html5.items()))
    print("{\n" + lines + "\n}")
    sys.exit(0)

args = [a for a in sys.argv[1:] if not a.startswith('--')]
shared = Path(args[0]) if args else Path(__file__).resolve().parents[2].parent / 'shared'

hand = [
    "",
    "   ",
    "Hello world",
    "This movie was GREAT! I LOVED it.",
    "I'm A BIG fan of THE Beatles; U.S.A. is the place.",
    "It was a really good movie.<br /><br />I would recommend it!!!!!!",
    "Tom &amp; Jerry &quot;said&quot; hi &lt;3 &#39;ok&#39; and &nbsp;then",
    "Wow!!!!!! Sooooo gooood... what??? ........",
    "this is very very very very good, and very very bad",
    "the the the cat sat sat sat sat on the mat mat mat.",
    "I don't know, can't say, won't tell. She's here and they're there; we'll see, I've been, he'd go, I'm off.",
    "Don't DON'T dont cannot gonna wanna y'all 'tis o'clock rock'n'roll",
    "Visit http://www.example.com/path?x=1&y=2 or https://fast.ai or www.google.com today",
    "Mail me at john.doe@example.com, or JANE@EXAMPLE.ORG.",
    "It costs $3.50 or 1,000 dollars, 3.5 kg, 10km, 5pm, 12.5% off, -7 and +3, 1/2 cup, 2021-01-05",
    "A well-known state-of-the-art self-driving car -- not a so-called toy -- 10-20 times.",
    "\"Quoted,\" she said. 'Single quotes' and “curly” ‘ones’ (brackets) [square] {curly} <angle>",
    "Emoji 😀😀😀 and 🎉 party! Café naïve résumé Ünïcödé ΑΒΓ αβγ 日本語 текст",
    "Mr. Smith met Dr. Who at 5 p.m. e.g. yesterday, etc. vs. Mrs. Jones.",
    "Hashtags #win #1 and slashes a/b/c and back\\slash",
    "Multiple     spaces\tand\ttabs\nand\nnewlines\n\nhere",
    "ALL CAPS SENTENCE HERE. A I OK",
    "MiXeD CaSe McDonald iPhone eBay NASA's USA's",
    "ellipsis… and... and.. and . . .",
    "x:) :-) :( <3 ^_^ (: :D",
    "<unk> tokens and @-@ and @.@ markers from wikitext ' ' \\n newline \\\"esc\\\"",
    "Ends with space ",
    "   leading spaces",
    "aaa bbbb cc ddddd !!! ??? ...",
    "The end.\n",
]

words = [
    "can't-do", "a.m .", "x:)", "5p.m.", "(e.g.)", "don't.", "http://www.google.com/a?b=1",
    "foo@bar.com,", "$5.00", "a  \n b", " a", "U.S.A.", "Hello,world", "ok.)", "'tis",
    "she's.", "C++", "10km²", "°C.", "1+2=3", "a.b.c.D", "O.K.?", "“Yes,” he said.",
]

reviews = pd.read_csv(shared / 'data/amazon-reviews/training_data.csv')['review'].astype(str)
real = []
for i in range(0, 4000, 200):
    if len(reviews[i]) <= 700 and len(real) < 12:
        real.append(reviews[i])
emma = (shared / 'data/jane-austen/emma.txt').read_text(encoding='utf-8', errors='replace')
paras = [p.strip().replace('\n', ' ') for p in emma.split('\n\n') if p.strip()]
for i in range(40, 2000, 150):
    if len(paras[i]) <= 700 and len(real) < 22:
        real.append(paras[i])

texts = hand + real
tok = TokenizeWithRules(WordTokenizer())
tokens = [list(t) for t in tok(texts)]
nlp = spacy.blank('en')
rule_fns = [fix_html, replace_rep, replace_wrep, spec_add_spaces, rm_useless_spaces,
            replace_all_caps, replace_maj, lowercase, replace_space]
count = Counter(t for doc in tokens for t in doc)
vocabs = []
for mf, mv in [(2, 60000), (1, 60000), (3, 60000), (1, 100), (2, 37), (2, 40), (1, 20)]:
    vocabs.append({"min_freq": mf, "max_vocab": mv, "itos": make_vocab(count, min_freq=mf, max_vocab=mv)})

# The whole of Jane Austen, paragraphs as fastai_ulmfit.py cuts them, through `tokenize_df` (what
# `TextDataLoaders.from_df` runs): counts and fingerprints only (tokens joined by \x01, documents
# by \x02; the vocabulary's tokens by \x01).
paras = []
for f in sorted((shared / 'data/jane-austen').glob('*.txt')):
    paras += [p.strip().replace('\n', ' ') for p in f.read_text(encoding='utf-8', errors='replace').split('\n\n') if p.strip()]
df, austen_count = tokenize_df(pd.DataFrame({'text': paras}), 'text', n_workers=2)
austen_tokens = list(df['text'])
austen_vocab = make_vocab(austen_count, min_freq=3, max_vocab=60000)
sha = lambda s: hashlib.sha256(s.encode('utf-8')).hexdigest()
austen = {"paragraphs": len(paras), "tokens": sum(len(t) for t in austen_tokens), "vocab_len": len(austen_vocab),
          "tokens_sha256": sha("\x02".join("\x01".join(t) for t in austen_tokens)),
          "vocab_sha256": sha("\x01".join(austen_vocab))}

out = {
    "fastai_version": fastai.__version__,
    "spacy_version": spacy.__version__,
    "texts": texts,
    "tokens": tokens,
    "rules": {f.__name__: [f(t) for t in hand] for f in rule_fns},
    "words": [{"text": w, "tokens": [t.text for t in nlp(w)]} for w in words],
    "vocabs": vocabs,
    "austen": austen,
}
print(json.dumps(out, ensure_ascii=False))
