"""Follow-ups on a library of encyclopedia entries nobody tuned for (written here): a pronoun or a
demonstrative stands for the name an article is titled with, whether jieba knows it or not."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from engines import engine_over

from bot.config import load_config
from bot.conversation import Engine, ReplyKind
from bot.corpus import load_corpus
from bot.retrieval import Retriever

ARTICLES = {
    "plant.md": """\
        # 月季

        月季是蔷薇科蔷薇属的灌木，原产于中国，现广泛栽培于世界各地。

        月季四季开花，花期主要在五月至十一月，花色有红、粉、黄、白等。

        茶树菇喜欢阴凉潮湿的环境，常见于山林之中。
        """,
    "book.md": """\
        # 远山来信

        远山来信是作家周明远于1998年出版的一部长篇小说，讲述了一位乡村教师和学生们二十年的通信。

        这本书以书信体写成，记叙了山村的变迁和几代人的成长。

        另一位作家在评论中写道，这本小说的语言朴素而动人。
        """,
    "town.md": """\
        # 青石镇

        青石镇位于江南，以石板路和古桥闻名，每年春天有大量游客前来。

        镇上的茶馆开花灯会在元宵节举行，吸引周边的居民。
        """,
}


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("encyclopedia")
    seeds = base / "seeds"
    seeds.mkdir()
    for name, text in ARTICLES.items():
        (seeds / name).write_text(textwrap.dedent(text), encoding="utf-8")
    sources = base / "sources.yaml"
    sources.write_text("{}\n", encoding="utf-8")
    config = load_config(env={"HOME": str(base)}).with_overrides(
        corpus={"seeds_dir": seeds, "sources_file": sources},
        retrieval={"cache_dir": base / "cache"}, history={"db_path": base / "unused.sqlite3"})
    corpus = load_corpus(config.corpus)
    return config, corpus, Retriever(corpus, config.retrieval)


@pytest.fixture
async def engine(parts, tmp_path: Path):
    async with engine_over(parts, tmp_path / "h.sqlite3") as engine:
        yield engine


async def test_a_pronoun_stands_for_the_name_an_article_is_titled_with(engine: Engine) -> None:
    # jieba's dictionary knows 月季 as a common noun: the article's title makes it a name.
    await engine.handle(1, 1, "月季原产在哪里？")
    reply = await engine.handle(1, 1, "它什么时候开花？")
    assert reply.kind is ReplyKind.ANSWER and "月季" in reply.query
    assert reply.hits[0].passage.text.startswith("月季四季开花")
    assert all("灯会" not in h.passage.text for h in reply.hits)


async def test_a_demonstrative_jieba_glued_to_its_noun_stands_for_the_title(engine: Engine) -> None:
    # 那本书 is one word of jieba's; after "who wrote it", the book, not its author.
    first = await engine.handle(2, 2, "远山来信是谁写的？")
    assert first.kind is ReplyKind.ANSWER and "周明远" in first.hits[0].passage.text
    reply = await engine.handle(2, 2, "那本书讲了什么？")
    assert reply.kind is ReplyKind.ANSWER and "远山来信" in reply.query and "周明远" not in reply.query
    assert any("书信体" in h.passage.text or "通信" in h.passage.text for h in reply.hits)


async def test_a_place_pronoun_stands_for_the_place_asked_about(engine: Engine) -> None:
    # 那里 after a question on 青石镇: the town's passages, not another article's 茶.
    await engine.handle(3, 3, "青石镇在哪里？")
    reply = await engine.handle(3, 3, "那里有什么茶馆？")
    assert reply.kind is ReplyKind.ANSWER and "青石镇" in reply.query
    assert all(h.passage.source_id == "town" for h in reply.hits)

