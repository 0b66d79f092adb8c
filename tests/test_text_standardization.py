"""The text standardization in every script, and its preprocessing note followed literally."""

from __future__ import annotations

import html.entities
import re
import unicodedata
import zipfile

import numpy as np
import pytest

from bench.studies.text_tokens import emoji_tweets
from tfapps.errors import InvalidInput
from tfapps.tasks import text_standardization as ts

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

CORPUS = [
    "Café CRÈME brûlée, naïve façade — Straße STRASSE ẞ Ǆemal ǅ",
    "İstanbul'da IŞIK; ΟΔΟΣ Σ ΣΑΣ. Ἀθῆναι ΆΛΦΑ",
    "Привет, МИР! Ёлка съела щи — «ура»… ЁЖ",
    "مرحبا بالعالم، كيف حالك؟ ١٢٣ ٤٥",
    "שָׁלוֹם עולם! מה נשמע?",
    "नमस्ते दुनिया। क्षत्रिय ज्ञान १२३",
    "你好，世界！我喜欢这本书。繁體中文測試",
    "日本語のテキスト、カタカナーとひらがな。ｶﾀｶﾅ ＡＢＣ１２３",
    "ภาษาไทยกินข้าวหรือยัง ๑๒๓",
    "ພາສາລາວ ខ្មែរភាសា မြန်မာဘာသာ",
    "한국어 문장은 띄어쓰기를 합니다",
    "😍😍 great!!! 👍🏽👍🏿 ❤️❤ 🇫🇷🇩🇪🇺 👨‍👩‍👧 🏳️‍🌈 1️⃣ #️⃣ 🏴󠁧󠁢󠁳󠁣󠁴󠁿",
    "😡😡 terrible 💔 ☹️ ©2024 ™ ° ½ ² ① ⅷ",
    "a&amp;lt;b &eacute;t&eacute; &#233;&#xE9;&#X1F60D; &#0; &#xD800; &#1114112; &foo; "
    "&#39;s &apos;x&apos; &nbsp;y &hellip;z&mdash;w &AElig;ON &thetasym; &sup2;",
    "<?xml version='1.0'?><!DOCTYPE html><html><body><div>text</div></body></html>",
    "line<br />break <BR> <b>bold</b> <a href='x'>link</a> <!-- note --> a < b > c <3 x<y>z",
    "tab\there\nnew\r\nline\x00nul\x07bell \u2028sep\u00a0nbsp\u3000wide\ufeffbom",
    "e\u0301 \u00e9 ﬁ ＡＢＣ mixed中文English日本語ภาษาไทย123abc😍x",
    "",
    "   ",
    "!!! ??? ... --- ***",
]
BYTES = [
    b"\xff\xfeabc",
    b"ok\xe2\x82Zd",
    b"sur\xed\xa0\x80rogate",
    b"over\xc0\xaflong",
    b"cut \xf0\x9f\x98",
    b"caf\xe9 latin-1",
    "valid ünïcödé 😍".encode(),
]


def _ranges(text: str) -> list[tuple[int, int]]:
    return [(int(a, 16), int(b, 16)) for a, b in re.findall(r"U\+([0-9A-F]+)-U\+([0-9A-F]+)", text)]


def _steps(note: str) -> dict[int, str]:
    parts = re.split(r"\n(?=\d+\. )", note)
    return {int(part.split(".")[0]): part for part in parts[1:]}


class NoteFollower:
    """Does what preprocessing.txt says, reading its regular expressions and code point
    ranges from the note itself, with Python's re, unicodedata and html only."""

    def __init__(self, note: str) -> None:
        steps = _steps(note)
        self.steps = steps
        self.tag = re.search(r"regular expression (\S+) \(an HTML tag", steps[2]).group(1)
        self.reference = re.search(r"expression\n\s+(\S+)\n", steps[3]).group(1)
        self.selectors = _ranges(steps[5])
        self.regional, *self.blocks = _ranges(steps[6])

    @staticmethod
    def _in(c: str, ranges) -> bool:
        return any(first <= ord(c) <= last for first, last in ranges)

    def tokens(self, data: bytes | str) -> list[str]:
        if isinstance(data, str):
            data = data.encode("utf-8")
        text = data.decode("utf-8", errors="replace")  # 1.
        text = "".join(" " if ord(c) <= 0x1F else c for c in text)
        text = re.sub(self.tag, " ", text)  # 2.
        text = re.sub(self.reference, self._reference, text)  # 3.
        text = text.lower().replace("i\u0307", "i")  # 4.
        text = "".join(c for c in text if not self._in(c, self.selectors))  # 5.
        text = self._separate(text)  # 6.
        text = "".join(  # 7.
            c
            if (unicodedata.category(c)[0] in "LMN" or unicodedata.category(c) == "So")
            and c != "\ufffd"
            else " "
            for c in text
        )
        return [token for token in text.split(" ") if token]  # 8.

    @staticmethod
    def _reference(match: re.Match) -> str:
        body = match.group(1)
        if body.startswith("#"):
            hexadecimal = body[1:2] in ("x", "X")
            number = int(body[2:], 16) if hexadecimal else int(body[1:])
            if number == 0 or 0xD800 <= number <= 0xDFFF or number > 0x10FFFF:
                return "\ufffd"
            return chr(number)
        if body in html.entities.name2codepoint:
            return chr(html.entities.name2codepoint[body])
        return "'" if body == "apos" else match.group(0)

    def _separate(self, text: str) -> str:
        out, i = [], 0
        while i < len(text):
            pair = text[i : i + 2]
            if len(pair) == 2 and all(self._in(c, [self.regional]) for c in pair):
                out.append(f" {pair} ")
                i += 2
                continue
            if unicodedata.category(text[i]) == "So" or self._in(text[i], self.blocks):
                j = i + 1
                while j < len(text) and unicodedata.category(text[j]).startswith("M"):
                    j += 1
                out.append(f" {text[i:j]} ")
                i = j
                continue
            out.append(text[i])
            i += 1
        return "".join(out)


@pytest.fixture(scope="module")
def follower() -> NoteFollower:
    return NoteFollower(ts.preprocessing_note(sequence_length=12))


def tf_tokens(texts) -> list[list[str]]:
    tokens = tf.strings.split(ts.standardize_text(tf.constant(texts))).to_list()
    return [[t.decode("utf-8") for t in row] for row in tokens]


def test_note_followed_in_python_gives_the_model_tokens(follower):
    assert tf_tokens(CORPUS) == [follower.tokens(text) for text in CORPUS]
    assert tf_tokens(BYTES) == [follower.tokens(data) for data in BYTES]


@pytest.mark.slow
def test_note_holds_on_every_character_both_tables_know(follower):
    """Every code point assigned in both Python's unicodedata and TensorFlow's ICU tables is
    standardized as the note says, between Latin letters (is it a token of its own?) and
    after a Han character (is it a mark that stays with it?)."""
    codes = [c for c in range(0x110000) if unicodedata.category(chr(c)) not in ("Cn", "Cs")]
    scripts = tf.strings.unicode_script(tf.constant(codes, tf.int32)).numpy()
    known = [
        chr(c) for c, script in zip(codes, scripts, strict=True) if script != 103
    ]  # 103: Unknown
    text = " ".join(f"x{c}x 中{c}" for c in known)
    assert len(known) > 140_000
    assert tf_tokens([text])[0] == follower.tokens(text)


def test_table_versions_the_note_names():
    """RE2's categories know Unicode 15.0 (U+1F6DC, So) and not 15.1 (U+2EBF0, Han); ICU's
    lower-casing knows Unicode 13.0 (U+A7C7 Ꟈ) and not 14.0 (U+2C2F Ⱟ)."""
    assert ts.CATEGORY_TABLES == "Unicode 15.0" and ts.CASE_TABLES == "Unicode 13.0"
    assert tf_tokens(["x\U0001f6dcx \U0002ebf0"]) == [["x", "\U0001f6dc", "x"]]
    assert tf_tokens(["\ua7c7 \u2c2f"]) == [["\ua7c8", "\u2c2f"]]
    note = ts.preprocessing_note(5)
    assert "Unicode 15.0" in note and "Unicode 13.0" in note


def test_note_steps_9_and_10_give_the_vectorizer_ids(follower):
    vectorizer = keras.layers.TextVectorization(
        standardize=ts.standardize_text, output_sequence_length=12
    )
    vectorizer.adapt(tf.constant(CORPUS[:-3]))
    file_text = "\n".join(vectorizer.get_vocabulary()) + "\n"  # as tfapps writes vocabulary.txt
    lines = file_text.split("\n")[:-1]
    index = {token: number for number, token in enumerate(lines)}
    expected = [
        ([index.get(token, 1) for token in follower.tokens(text)][:12] + [0] * 12)[:12]
        for text in CORPUS
    ]
    assert vectorizer(tf.constant(CORPUS)).numpy().tolist() == expected
    assert "Keep the first 12 ids, and pad with 0 to 12" in follower.steps[10]


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("café Straße", ["café", "straße"]),
        ("ΟΔΟΣ", ["οδος"]),  # final sigma
        ("İstanbul", ["istanbul"]),
        ("ПРИВЕТ мир", ["привет", "мир"]),
        ("你好世界", ["你", "好", "世", "界"]),
        ("กินข้าว", ["กิ", "น", "ข้", "า", "ว"]),  # Thai vowel and tone marks stay on their letter
        ("❤️❤", ["❤", "❤"]),
        ("👍🏽👍", ["👍", "👍"]),
        ("🇫🇷🇩🇪🇺", ["🇫🇷", "🇩🇪", "🇺"]),
        ("👨‍👩‍👧", ["👨", "👩", "👧"]),
        ("a&amp;lt;b &eacute;", ["a", "lt", "b", "é"]),
        ("x<br />y <p class=a>z</p>", ["x", "y", "z"]),
        ("a < b > c", ["a", "b", "c"]),
    ],
)
def test_documented_cases(text, tokens):
    assert tf_tokens([text]) == [tokens]


def test_any_input_shape_keeps_its_shape():
    column = ts.standardize_text(tf.constant([["Ab C"], ["D"]]))
    assert column.shape == (2, 1) and column.numpy()[1, 0] == b"d"
    assert ts.standardize_text(tf.constant("É")).numpy() == "é".encode()


def _vectorizer(texts, **kwargs):
    vectorizer = keras.layers.TextVectorization(standardize=ts.standardize_text, **kwargs)
    vectorizer.adapt(tf.constant(texts))
    return vectorizer


def _generated(alphabet: str, count: int, words: int, seed: int, word_length=(2, 7)):
    rng = np.random.default_rng(seed)
    letters = list(alphabet)
    vocabulary = ["".join(rng.choice(letters, rng.integers(*word_length))) for _ in range(40)]
    return [" ".join(rng.choice(vocabulary, words)) + "!" for _ in range(count)]


@pytest.mark.parametrize(
    ("texts", "least"),
    [
        (_generated("абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁ", 160, 12, 0), 30),
        (
            [
                t.replace(" ", "")
                for t in _generated("的一是不了人我在有他这中大来上国个", 160, 10, 1)
            ],
            15,
        ),
        (_generated("😍😂👍❤️🎉😡😢👎💔😤", 160, 4, 2, word_length=(1, 2)), 9),
    ],
    ids=["russian", "chinese", "emoji"],
)
def test_vectorizer_adapts_to_other_scripts(texts, least):
    vocabulary = _vectorizer(texts).get_vocabulary()
    assert len(vocabulary) - 2 >= least  # padding and [UNK] aside


def test_love_and_anger_emoji_get_different_ids():
    vectorizer = _vectorizer(["😍😍 yes", "😡😡 no"], output_sequence_length=2)
    love, anger = vectorizer(tf.constant(["😍😍", "😡😡"])).numpy()
    assert love[0] > 1 and anger[0] > 1 and love[0] != anger[0]


def _model(vectorizer):
    texts = keras.Input(shape=(), dtype="string", name="texts")
    x = keras.layers.Embedding(len(vectorizer.get_vocabulary()), 4)(vectorizer(texts))
    x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(texts, keras.layers.Dense(1, name="predictions")(x))


@pytest.mark.slow
def test_model_keras_and_saved_model_standardize_as_in_training(tmp_path):
    from tfapps.export import write_saved_model

    vectorizer = _vectorizer(CORPUS, output_sequence_length=16)
    model = _model(vectorizer)
    raw = tf.constant(CORPUS)
    expected = model(raw).numpy()
    model.save(tmp_path / "model.keras")
    reloaded = keras.models.load_model(tmp_path / "model.keras", safe_mode=True)
    layer = next(lay for lay in reloaded.layers if isinstance(lay, keras.layers.TextVectorization))
    assert layer.get_config()["standardize"] is ts.standardize_text
    with zipfile.ZipFile(tmp_path / "model.keras") as archive:
        assert f'"config": "{ts.REGISTERED_NAME}"' in archive.read("config.json").decode()
    np.testing.assert_allclose(reloaded(raw).numpy(), expected, rtol=1e-6)
    write_saved_model(model, tmp_path / "saved_model")
    serving = tf.saved_model.load(str(tmp_path / "saved_model")).signatures["serving_default"]
    served = serving(texts=raw)["predictions"].numpy()
    np.testing.assert_allclose(served, expected, rtol=1e-6)


def _dataset(texts):
    return tf.data.Dataset.from_tensor_slices(tf.constant(texts)).batch(7)


def test_count_tokens_and_their_record():
    from tfapps.data.specs import TextSpec

    texts = ["你好世界", "😍 good", "plain words here", "!!!"]
    counts = ts.count_tokens(_dataset(texts))
    assert counts.per_text.tolist() == [4, 2, 3, 0]
    assert (counts.characters, counts.symbols) == (4, 1)
    spec = TextSpec()
    counts.describe(spec)
    assert spec.standardize == ts.REGISTERED_NAME and spec.tokens == 9
    assert spec.unspaced_share == round(4 / 9, 4) and spec.median_tokens == 2.5
    ts.check_tokens(counts, "reviews.csv")  # has tokens: no error


def test_a_training_split_without_tokens_is_refused():
    counts = ts.count_tokens(_dataset(["!!!", "?? ...", "<br />", "&amp; &#33;", ""]))
    with pytest.raises(InvalidInput) as raised:
        ts.check_tokens(counts, "punctuation.csv")
    assert raised.value.exit_code == 2
    message = str(raised.value)
    assert "punctuation.csv" in message and "5 texts" in message and "\n" not in message


@pytest.mark.slow
def test_emoji_sentiment_trains_above_chance():
    keras.utils.set_random_seed(0)
    texts, labels = emoji_tweets(400, seed=0)
    vectorizer = _vectorizer(texts[:160], output_sequence_length=16)
    ids = vectorizer(tf.constant(texts)).numpy()
    tokens = keras.Input(shape=(16,), dtype="int64")
    x = keras.layers.Embedding(len(vectorizer.get_vocabulary()), 16)(tokens)
    x = keras.layers.GlobalMaxPooling1D()(keras.layers.Conv1D(16, 3, activation="relu")(x))
    model = keras.Model(tokens, keras.layers.Dense(1, activation="sigmoid")(x))
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    model.fit(ids[:160], labels[:160], epochs=30, batch_size=16, verbose=0)
    accuracy = model.evaluate(ids[160:], labels[160:], verbose=0)[1]
    assert accuracy > 0.9
