"""How the text models turn a raw string into tokens, in every script, inside the model.

`standardize_text` uses TensorFlow string ops only, so it is traced into the SavedModel and
`model.keras` names it: TF Serving, `serving_default` callers and `tfapps predict` compute it
too. `preprocessing_note` writes the same steps out for a user of a token-id model (ONNX,
LiteRT), from the same constants; tests/test_text_standardization.py follows that note in
plain Python and compares.

Tokens are runs of letters, digits and marks (any script); each emoji or other symbol of
category So is a token of its own (a flag's two regional indicators together), and so is each
character of the scripts written without spaces between words (Chinese, Japanese, Thai, Lao,
Khmer, Myanmar...; Conv1D kernels over these characters see their words).
"""

from __future__ import annotations

import html.entities
from dataclasses import dataclass

import keras
import numpy as np

from tfapps.data.specs import TextSpec
from tfapps.errors import InvalidInput

REGISTERED_NAME = "tfapps>standardize_unicode_text"
LONG_TEXT_QUANTILE = 0.99  # the length `TextSpec.long_tokens` records (`--sequence-length`)

# Blocks of the scripts written without spaces between words: the ideographic ones (line
# break class ID in Unicode's UAX #14: Han, kana, Bopomofo, Yi) and the South East Asian
# ones (class SA: words found by a dictionary). Each of their characters is one token.
UNSPACED_BLOCKS = (
    (0x0E00, 0x0E7F, "Thai"),
    (0x0E80, 0x0EFF, "Lao"),
    (0x1000, 0x109F, "Myanmar"),
    (0x1780, 0x17FF, "Khmer"),
    (0x1950, 0x19DF, "Tai Le, New Tai Lue"),
    (0x19E0, 0x19FF, "Khmer Symbols"),
    (0x1A20, 0x1AAF, "Tai Tham"),
    (0x2E80, 0x2FDF, "CJK and Kangxi Radicals"),
    (0x3000, 0x303F, "CJK Symbols and Punctuation"),
    (0x3040, 0x30FF, "Hiragana, Katakana"),
    (0x3100, 0x312F, "Bopomofo"),
    (0x31A0, 0x31FF, "Bopomofo Extended, CJK Strokes, Katakana Phonetic Extensions"),
    (0x3400, 0x4DBF, "CJK Unified Ideographs Extension A"),
    (0x4E00, 0x9FFF, "CJK Unified Ideographs"),
    (0xA000, 0xA4CF, "Yi"),
    (0xA9E0, 0xA9FF, "Myanmar Extended-B"),
    (0xAA60, 0xAADF, "Myanmar Extended-A, Tai Viet"),
    (0xF900, 0xFAFF, "CJK Compatibility Ideographs"),
    (0xFF65, 0xFF9F, "Halfwidth Katakana"),
    (0x1AFF0, 0x1B16F, "Kana Extended-B, Kana Supplement, Kana Extended-A, Small Kana"),
    (0x20000, 0x3FFFF, "CJK Unified Ideographs Extensions B and later, planes 2 and 3"),
)
REGIONAL_INDICATORS = (0x1F1E6, 0x1F1FF)  # two in a row spell a flag: 🇫🇷
VARIATION_SELECTORS = ((0xFE00, 0xFE0F), (0xE0100, 0xE01EF))  # ❤️ is ❤ + U+FE0F
REPLACEMENT = 0xFFFD  # what an invalid UTF-8 sequence decodes to
TAG = r"<[A-Za-z/!?][^<>]*>"
REFERENCE = r"&(#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,7});"
# The named character references decoded: HTML 4.01's 252 (Python's
# html.entities.name2codepoint) and XHTML's &apos;.
NAMED_REFERENCES = {**html.entities.name2codepoint, "apos": 0x27}
# Unicode versions of the tables TensorFlow 2.21 ships, measured over every code point:
# RE2 (categories) knows Unicode 15.0, ICU (lower-casing) Unicode 13.0.
CATEGORY_TABLES = "Unicode 15.0"
CASE_TABLES = "Unicode 13.0"


def _ranges(pairs) -> str:
    return "".join(f"\\x{{{first:X}}}-\\x{{{last:X}}}" for first, last in pairs)


UNSPACED = "[" + _ranges((first, last) for first, last, _ in UNSPACED_BLOCKS) + "]"
FLAG = "[" + _ranges([REGIONAL_INDICATORS]) + "]{2}"
SEPARATE = f"({FLAG}|(?:\\p{{So}}|{UNSPACED})\\p{{M}}*)"
NOT_TOKEN = r"[^\p{L}\p{M}\p{N}\p{So} ]+"  # spaces left alone: fewer matches


@keras.saving.register_keras_serializable(package="tfapps", name="standardize_unicode_text")
def standardize_text(texts):
    """Standardizes texts for a whitespace split into tokens, in any script.

    The steps, in order (`preprocessing_note` spells them out): decode UTF-8 (invalid bytes
    and control characters become spaces), HTML tags to spaces, HTML character references
    decoded, Unicode lower-casing, variation selectors dropped, a space on each side of
    every emoji or other So symbol and of every character of a script written without
    spaces, and every character that is not a letter, mark, digit or So symbol to a space.
    No Unicode normalization (NFC, NFKC): TensorFlow has no op for it.

    Args:
        texts: `tf.string` tensor of any shape, UTF-8 (or not: invalid bytes are spaces).

    Returns:
        A `tf.string` tensor of the same shape, tokens separated by ASCII spaces.
    """
    import tensorflow as tf

    texts = tf.convert_to_tensor(texts, dtype=tf.string)
    flat = tf.reshape(texts, [-1])
    # Only texts with bytes beyond ASCII need the Unicode ops (the slower ones); on ASCII
    # they change nothing but the case, which tf.strings.lower's ASCII mode does alike.
    flat = _where(~_ascii(flat), flat, _transcode)
    # NUL would also make tf.strings.lower stop reading (TF 2.21).
    flat = tf.strings.regex_replace(flat, r"[\x00-\x1f]", " ")
    flat = tf.strings.regex_replace(flat, TAG, " ")
    flat = _where(tf.strings.regex_full_match(flat, "(?s).*&.*"), flat, _decode_references)
    ascii = _ascii(flat)
    flat = _where(ascii, flat, tf.strings.lower)
    flat = _where(~ascii, flat, _unicode_case_and_tokens)
    flat = tf.strings.regex_replace(flat, f"\\x{{{REPLACEMENT:X}}}", " ")
    flat = tf.strings.regex_replace(flat, NOT_TOKEN, " ")
    standardized = tf.reshape(flat, tf.shape(texts))
    standardized.set_shape(texts.shape)
    return standardized


def _ascii(flat):
    import tensorflow as tf

    return tf.strings.regex_full_match(flat, r"[\x00-\x7f]*")


def _where(mask, flat, transform):
    """`transform` of the texts of `flat` where `mask` holds, the others as they are."""
    import tensorflow as tf

    where = tf.where(mask)
    return tf.tensor_scatter_nd_update(flat, where, transform(tf.gather_nd(flat, where)))


def _transcode(flat):
    import tensorflow as tf

    return tf.strings.unicode_transcode(
        flat, "UTF-8", "UTF-8", errors="replace", replacement_char=REPLACEMENT
    )


def _unicode_case_and_tokens(flat):
    import tensorflow as tf

    flat = tf.strings.lower(flat, encoding="utf-8")
    flat = tf.strings.regex_replace(flat, "i\u0307", "i")  # "İ".lower() is i + U+0307
    flat = tf.strings.regex_replace(flat, "[" + _ranges(VARIATION_SELECTORS) + "]", "")
    return tf.strings.regex_replace(flat, SEPARATE, r" \1 ")


def _decode_references(flat):
    """HTML character references (`REFERENCE`) in a 1-D `tf.string` tensor replaced by their
    characters in one pass (`&amp;lt;` becomes `&lt;`); unknown names are left as written,
    and code points that are no character (0, surrogates, above U+10FFFF) become U+FFFD."""
    import tensorflow as tf

    # The control characters are gone, so NUL can mark where references start and end: the
    # pieces at odd positions of each text are the references' bodies.
    pieces = tf.strings.split(tf.strings.regex_replace(flat, REFERENCE, "\x00\\1\x00"), "\x00")
    values = pieces.flat_values
    odd = tf.math.floormod(tf.ragged.range(pieces.row_lengths()).flat_values, 2) == 1
    where = tf.where(odd)
    bodies = tf.gather(values, where[:, 0])
    names = tf.constant(list(NAMED_REFERENCES))
    matches = tf.equal(bodies[:, None], names[None, :])
    named = tf.gather(tf.constant(list(NAMED_REFERENCES.values()), tf.int64), tf.argmax(matches, 1))
    hexadecimal = tf.strings.regex_full_match(bodies, "#[xX].*")
    numeric = tf.strings.regex_full_match(bodies, "#.*")
    # Digits to a number: each digit's value times its base's power, summed per reference.
    codes = tf.strings.unicode_decode(tf.strings.regex_replace(bodies, "^#[xX]?", ""), "UTF-8")
    code = tf.cast(codes.flat_values, tf.int64)
    digit = tf.where(code <= ord("9"), code - ord("0"), code % 32 + 9)  # a/A is 1 mod 32
    base = tf.repeat(tf.where(hexadecimal, 16, 10), codes.row_lengths())
    place = tf.repeat(codes.row_lengths(), codes.row_lengths()) - 1
    place -= tf.ragged.range(codes.row_lengths()).flat_values
    powers = tf.pow(tf.cast(base, tf.int64), place)
    number = tf.reduce_sum(codes.with_flat_values(digit * powers), 1)
    character = (number > 0) & (number <= 0x10FFFF) & ((number < 0xD800) | (number > 0xDFFF))
    number = tf.where(character, number, tf.constant(REPLACEMENT, tf.int64))
    point = tf.where(numeric, number, named)
    known = numeric | tf.reduce_any(matches, 1)
    decoded = tf.strings.unicode_encode(tf.cast(point[:, None], tf.int32), "UTF-8")
    replaced = tf.where(known, decoded, tf.strings.join(["&", bodies, ";"]))
    values = tf.tensor_scatter_nd_update(values, where, replaced)
    return tf.strings.reduce_join(pieces.with_flat_values(values), axis=1)


@dataclass(frozen=True)
class TokenCounts:
    """What `standardize_text` and a whitespace split make of a set of texts.

    Args:
        per_text: int64 `[texts]`, the tokens of each text.
        characters: tokens that are one character of a script written without spaces.
        symbols: tokens that are one emoji or other So symbol (or a flag).
    """

    per_text: np.ndarray
    characters: int
    symbols: int

    def describe(self, spec: TextSpec) -> None:
        """Records the tokenization in the run's `TextSpec`: the standardizer's registered
        name, the tokens in all, the median and 0.99 quantile of the texts' lengths, and the
        shares of tokens that are characters of unspaced scripts, and symbols."""
        total = int(self.per_text.sum())
        spec.standardize = REGISTERED_NAME
        spec.tokens = total
        lengths = self.per_text if len(self.per_text) else np.zeros(1)
        spec.median_tokens = float(np.median(lengths))
        spec.long_tokens = float(np.quantile(lengths, LONG_TEXT_QUANTILE))
        spec.unspaced_share = round(self.characters / max(total, 1), 4)
        spec.symbol_share = round(self.symbols / max(total, 1), 4)


def count_tokens(texts, standardize: bool = True) -> TokenCounts:
    """Counts the tokens of batches of texts as the model's vectorizer splits them.

    Args:
        texts: a `tf.data.Dataset` of `tf.string` batches `[batch]`.
        standardize: whether to standardize the texts first (`standardize_text`); False for
            texts it already made. Defaults to True.

    Returns:
        A `TokenCounts`.
    """
    import tensorflow as tf

    def count(batch):
        tokens = tf.strings.split(standardize_text(batch) if standardize else batch)
        flat = tokens.flat_values
        characters = tf.strings.regex_full_match(flat, f"{UNSPACED}\\p{{M}}*")
        symbols = tf.strings.regex_full_match(flat, f"{FLAG}|\\p{{So}}\\p{{M}}*")
        return (
            tokens.row_lengths(),
            tf.reduce_sum(tf.cast(characters, tf.int64)),
            tf.reduce_sum(tf.cast(symbols, tf.int64)),
        )

    per_text, characters, symbols = [np.zeros(0, np.int64)], 0, 0
    for lengths, chars, syms in texts.map(count).as_numpy_iterator():
        per_text.append(lengths)
        characters += int(chars)
        symbols += int(syms)
    return TokenCounts(np.concatenate(per_text), characters, symbols)


def check_tokens(counts: TokenCounts, source: str) -> None:
    """Refuses a training split whose texts leave no token, before the vectorizer is adapted
    (TextVectorization would fail later with an empty vocabulary).

    Args:
        counts: the training texts' `TokenCounts`.
        source: the dataset as the user named it.

    Raises:
        InvalidInput: when no training text has a token.
    """
    if counts.per_text.sum() == 0:
        raise InvalidInput(
            f"The training split of {source} leaves no token after standardization: none of "
            f"its {len(counts.per_text)} texts has a letter, digit, mark or symbol such as an "
            "emoji (punctuation, white space and HTML tags are dropped). Give texts with words."
        )


def preprocessing_note(sequence_length: int) -> str:
    """The steps that turn a text into the model's token ids, for a user without TensorFlow
    (beside an ONNX or LiteRT model on token ids), written from this module's constants.

    Args:
        sequence_length: token ids per text, as the vectorizer pads or cuts them.

    Returns:
        The numbered steps, as plain text.
    """
    return tokenization_note("token ids") + (
        "9. Map each token to its line number in vocabulary.txt (UTF-8, lines end with \\n),\n"
        "   counting from 0: line 0 is the padding token (empty), line 1 the out-of-vocabulary\n"
        "   token [UNK], used for any token not in the file.\n"
        f"10. Keep the first {sequence_length} ids, and pad with 0 to {sequence_length}.\n"
    )


def tokenization_note(outputs: str) -> str:
    """The steps 1 to 8 that turn a text into its tokens, as `standardize_text` and the
    vectorizer's split on spaces make them, for a user without TensorFlow; written from this
    module's constants. A note goes on from step 9 to what the model takes.

    Args:
        outputs: what the text becomes in the end, for the note's first line
            (`"token ids"`, `"its TF-IDF vector"`).

    Returns:
        The introduction and numbered steps, as plain text.
    """
    blocks = ";\n".join(
        f"     U+{first:04X}-U+{last:04X} ({name})" for first, last, name in UNSPACED_BLOCKS
    )
    low, high = REGIONAL_INDICATORS
    selectors = " and ".join(f"U+{first:04X}-U+{last:04X}" for first, last in VARIATION_SELECTORS)
    return (
        f"A text becomes {outputs} exactly as the run's TextVectorization layer does it\n"
        "(tfapps.tasks.text_standardization). Categories are Unicode's general categories as\n"
        f"{CATEGORY_TABLES} assigns them (a character assigned later counts as unassigned),\n"
        f"lower-case mappings those of {CASE_TABLES} (a character assigned later keeps its\n"
        "case): TensorFlow's tables. Python's unicodedata and str.lower give the same tokens\n"
        "on every character both they and these tables know (tfapps' tests check it). There\n"
        "is no Unicode normalization: e with U+0301 is another token than U+00E9, and\n"
        "fullwidth letters are other tokens than ASCII ones.\n"
        "1. Decode the bytes as UTF-8, each invalid sequence as U+FFFD (Python:\n"
        '   data.decode("utf-8", errors="replace")), and replace each control character\n'
        "   U+0000-U+001F by a space.\n"
        f"2. Replace every match of the regular expression {TAG} (an HTML tag,\n"
        "   such as <br />) by a space.\n"
        "3. Replace every match of the regular expression\n"
        f"   {REFERENCE}\n"
        "   (an HTML character reference), in one pass from the start of the text, by:\n"
        "   #NNN (decimal) or #xHHH (hexadecimal): the character with that code point, or\n"
        f"   U+{REPLACEMENT:04X} for 0, U+D800-U+DFFF and numbers above U+10FFFF; a name of\n"
        f"   HTML 4.01 (the {len(html.entities.name2codepoint)} of Python's "
        "html.entities.name2codepoint) or apos: its character;\n"
        "   any other name: the match as it is.\n"
        "4. Lower-case the text with Unicode's full case mapping, final sigma included\n"
        '   (Python: text.lower()), then replace each "i" followed by U+0307 by "i".\n'
        f"5. Delete the variation selectors {selectors}.\n"
        "6. Scanning from the start of the text, mark off these tokens, each with the\n"
        "   characters of category M (marks) right after it, and put a space before and\n"
        f"   after each: two regional indicators U+{low:04X}-U+{high:04X} in a row (a flag,\n"
        "   no marks taken); otherwise any one character of category So (emoji and other\n"
        "   symbols) or in these blocks of scripts written without spaces:\n"
        f"{blocks}.\n"
        "7. Replace every character whose category is not L (letter), M (mark), N (number)\n"
        f"   or So, and every U+{REPLACEMENT:04X}, by a space.\n"
        "8. Split the text at spaces, dropping empty strings: these are its tokens.\n"
    )
