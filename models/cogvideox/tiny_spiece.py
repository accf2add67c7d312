"""A tiny T5-style ``spiece.model`` for tests, and the prompts that check a tokenizer against SentencePiece.

``write_tiny_spiece`` trains a SentencePiece Unigram model the way T5's was made
(``nmt_nfkc`` normalization, ``<pad>`` = 0, ``</s>`` = 1, ``<unk>`` = 2, no
``<s>``) on a seeded corpus of video-prompt-like English with accented words,
some Greek and Cyrillic, digits and punctuation: ``TINY_PIECES`` pieces, so with
T5's 100 extra ids the tokenizer has 1100 ids (the tiny text encoder's
``vocab_size`` is 1152, padded to a multiple of 128 as T5-XXL's 32100 ids are to 32128).
Characters the corpus never shows (CJK, emoji, Arabic, …) are unknown to it, so
prompts with them exercise ``<unk>``. The same seed and sentencepiece version give
the same bytes.

``parity_prompts`` draws the few hundred prompts the token-id parity checks use.
"""

import io
import random

from models.lib.tokenizer import WORD_GROUPS

TINY_PIECES = 1000
TINY_VOCAB_SIZE = 1152  # TINY_PIECES + 100 extra ids, rounded up to a multiple of 128

PROMPT_WORDS = (
    "cinematic shot close-up wide aerial drone footage slow motion time-lapse tracking dolly zoom pan tilt "
    "golden hour blue twilight dawn dusk midday overcast foggy misty stormy sunny rainy snowy windy "
    "woman man child girl boy elderly couple family crowd dancer musician painter chef astronaut robot "
    "panda tiger lion elephant horse dolphin whale eagle owl butterfly puppy kitten fox deer rabbit "
    "walks runs jumps dances sings plays paints cooks reads smiles laughs looks turns waves rides drives "
    "guitar piano violin drum book cup coffee tea bicycle motorcycle train airplane ship lantern candle "
    "kitchen library garden meadow canyon glacier volcano waterfall island harbor village castle temple "
    "market alley rooftop subway tunnel bridge highway neon reflections shadows silhouette sparkles "
    "vibrant muted pastel saturated warm cool soft hard dramatic peaceful serene chaotic cozy ancient "
    "futuristic realistic detailed intricate textured glossy matte wooden metallic glass stone velvet "
    "wearing holding carrying sitting standing lying floating drifting glowing shimmering swirling "
    "camera lens focus depth field bokeh lighting backlit rim light atmosphere mood style film grain"
)
ACCENTED = (
    "café naïve façade Zürich São Paulo Ångström résumé crème brûlée piñata jalapeño Kraków Malmö "
    "Genève Besançon Århus Ísland Łódź Škoda Dvořák Ærø Øresund smörgåsbord über straße Mädchen "
    "Ελλάδα θάλασσα ήλιος Москва река солнце зима"
)
PUNCT_WRAP = [("", ""), ("", ","), ("", "."), ("", "!"), ("", "?"), ("", ";"), ("", ":"), ('"', '"'), ("(", ")"), ("'", "'"), ("", "..."), ("", " -")]
ONSETS = "b c d f g h k l m n p r s t v w z br cr dr fr gr pl st tr sh ch th".split()
NUCLEI = "a e i o u ai ea ou ie y".split()
CODAS = ["", "", "n", "r", "s", "l", "t", "m", "nd", "rk", "st", "ng"]


def _pseudo_words(rng, n):
    words = set()
    while len(words) < n:
        words.add("".join(rng.choice(ONSETS) + rng.choice(NUCLEI) + rng.choice(CODAS) for _ in range(rng.randint(1, 3))))
    return sorted(words)


def _number(rng):
    kind = rng.randrange(6)
    if kind == 0:
        return str(rng.randint(0, 99))
    if kind == 1:
        return str(rng.randint(1900, 2030))
    if kind == 2:
        return "%d.%d" % (rng.randint(0, 9), rng.randint(0, 99))
    if kind == 3:
        return rng.choice(["1080p", "720p", "4k", "8k", "24fps", "60fps", "50mm", "f/1.8", "16:9", "3D", "x2"])
    if kind == 4:
        return "%d%%" % rng.randint(1, 100)
    return "#%d" % rng.randint(1, 9)


def tiny_corpus(seed=0, sentences=6000):
    """Seeded training sentences (strings)."""
    rng = random.Random(seed)
    base = sorted({w for g in WORD_GROUPS[:-1] for w in g.split()} | set(PROMPT_WORDS.split()))
    accented = ACCENTED.split()
    pseudo = _pseudo_words(rng, 600)
    out = []
    for _ in range(sentences):
        words = []
        for _ in range(rng.randint(4, 24)):
            r = rng.random()
            w = rng.choice(base) if r < 0.72 else rng.choice(pseudo) if r < 0.86 else rng.choice(accented) if r < 0.93 else _number(rng)
            if rng.random() < 0.12:
                pre, post = rng.choice(PUNCT_WRAP)
                w = pre + w + post
            words.append(w)
        if rng.random() < 0.5:
            words[0] = words[0][:1].upper() + words[0][1:]
        if rng.random() < 0.05:
            words = [w.upper() for w in words]
        out.append(" ".join(words))
    return out


def write_tiny_spiece(path, seed=0, pieces=TINY_PIECES):
    """Train the tiny T5-style SentencePiece model and write it to ``path``; returns ``path``."""
    import sentencepiece  # Debian's python3-sentencepiece

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(tiny_corpus(seed)),
        model_writer=model,
        model_type="unigram",
        vocab_size=pieces,
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        pad_piece="<pad>",
        eos_piece="</s>",
        unk_piece="<unk>",
        normalization_rule_name="nmt_nfkc",
        character_coverage=1.0,
        num_threads=1,
        minloglevel=2,
    )
    with open(path, "wb") as f:
        f.write(model.getvalue())
    return path


# ------------------------------------------------------------------ parity prompts

UNKNOWN_SNIPPETS = ["日本語の文章", "中文提示", "한국어", "😀", "🎬🎥", "👨‍👩‍👧", "🏳️‍🌈", "مرحبا", "नमस्ते", "สวัสดี", "✨", "→", "∑"]
ODD_SPACES = ["\t", "\n", "\r\n", "\u00a0", "\u3000", "\u2003", "\u200b", "\u200d", "\ufeff", "\u2028", "\u0085", "\u180e", "\u2581"]
COMPAT = ["ﬁ", "ﬂ", "²", "½", "①", "Ⅻ", "ＡＢＣ", "１２３", "ｶﾀｶﾅ", "™", "℃", "㍿", "…", "—", "–", "“quoted”", "‘single’", "～", "＜/s＞", "ǅ", "Å", "ᴬ", "ℌ"]
SPECIAL_STRINGS = ["</s>", "<pad>", "<unk>", "<extra_id_0>", "<extra_id_7>", "<extra_id_99>", "<extra_id_100>", "<s>", "</ s>", "<extra_id_1>0"]


def _sentence(rng, words, n):
    return " ".join(rng.choice(words) for _ in range(n))


def parity_prompts(seed=0):
    """About 340 prompts: plain, cased, accented (composed and decomposed), compatibility forms, odd whitespace,
    digits and punctuation, unknown scripts and emoji, special-token strings, empty ones and prompts far past
    226 tokens."""
    import unicodedata

    rng = random.Random(seed + 7)
    corpus = tiny_corpus(seed, sentences=400)
    words = sorted({w for s in corpus for w in s.split()})
    out = list(corpus[:100])
    out += [s.upper() for s in corpus[100:115]] + [s.title() for s in corpus[115:130]]
    out += [unicodedata.normalize("NFD", s) for s in corpus if any(ord(c) > 127 for c in s)][:25]
    for _ in range(30):
        s = _sentence(rng, words, rng.randint(2, 8)).split(" ")
        s.insert(rng.randrange(len(s) + 1), rng.choice(COMPAT))
        out.append(" ".join(s))
    for _ in range(40):
        s = _sentence(rng, words, rng.randint(1, 6)).split(" ")
        sep = [rng.choice([" ", "  ", "   ", rng.choice(ODD_SPACES), " " + rng.choice(ODD_SPACES) + " "]) for _ in s]
        text = "".join(w + g for w, g in zip(s, sep))
        out.append(rng.choice(["", " ", "  ", "\t", "\n "]) + text + rng.choice(["", " ", "   ", "\n"]))
    for _ in range(30):
        parts = [rng.choice(words), _number(rng), rng.choice(list("!?.,;:-()[]{}'\"/\\@#$%^&*_+=<>|~`")) * rng.randint(1, 4)]
        rng.shuffle(parts)
        out.append(rng.choice(["", " "]).join(parts) + " " + _sentence(rng, words, 3))
    for _ in range(30):
        s = _sentence(rng, words, rng.randint(0, 5)).split(" ")
        for _ in range(rng.randint(1, 3)):
            s.insert(rng.randrange(len(s) + 1), rng.choice(UNKNOWN_SNIPPETS))
        out.append(rng.choice([" ", ""]).join(s))
    for _ in range(30):
        s = _sentence(rng, words, rng.randint(0, 6)).split(" ")
        for _ in range(rng.randint(1, 2)):
            s.insert(rng.randrange(len(s) + 1), rng.choice(SPECIAL_STRINGS))
        out.append(rng.choice([" ", ""]).join(s))
    out += ["", " ", "   ", "\t\n", "a", "A", ".", "</s>", "x </s>", "</s></s>", "<pad>", "\u200d", "😀"]
    # repeated pieces: segmentations that tie in exact arithmetic, decided by SentencePiece's float rounding
    out += ["." * n for n in range(4, 12)] + ["Wait.... what...... now", "!!!! ----- ====", "ahahahaha hahaha", "?!?!?!"]
    for n in (150, 230, 400, 900):
        out.append(_sentence(rng, words, n))
    out.append(" ".join(["cat"] * 300))
    out.append("a" * 2000)
    out.append(" ".join(rng.choice(words) for _ in range(260)) + " </s>")
    return out
