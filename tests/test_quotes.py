"""Notable quotations: statements in quotation marks with the named person who said them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import CorpusConfig, load_config
from bot.corpus import load_corpus
from bot.quotes import Quote, find_notable_quotes, quotation_speakers

FIXTURES = Path(__file__).parent / "fixtures" / "corpus"


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(load_config().corpus)


def load_text(tmp_path: Path, text: str):
    (tmp_path / "a.txt").write_text(text, encoding="utf-8")
    return load_corpus(CorpusConfig(seeds_dir=tmp_path, sources_file=FIXTURES / "sources.yaml"))


def test_seed_quotes_include_li_yanhong_and_liang_wenfeng(corpus):
    quotes = find_notable_quotes(corpus, limit=20)
    def said(speaker, start):
        return any(q.speaker == speaker and q.text.startswith(start) for q in quotes)
    assert said("李彦宏", "开源模型打不过闭源模型。")
    assert said("李彦宏", "当你理性地去想")
    assert said("梁文锋", "DeepSeek的目标是推动技术前沿")
    assert said("Eric Schmidt", "美国的竞争优势长期以来依赖于开放科学")


def test_seed_quotes_are_real_named_statements(corpus):
    quotes = find_notable_quotes(corpus, limit=50)
    assert 8 <= len(quotes) <= 50
    for q in quotes:
        assert isinstance(q, Quote) and q.speaker
        assert q.text in q.passage.text and corpus.passage(q.passage.id) is q.passage
        assert len(q.text) >= 8
    # scare quotes and the unnamed: not notable quotations
    texts = {q.text for q in quotes}
    assert not texts & {"开源情怀", "CloseAI", "蒸馏", "星际之门", "人造卫星时刻"}
    assert not any("一旦发生我们无法控制的情况" in t for t in texts)  # an unnamed 总裁 said it
    assert not any(q.speaker in ("DeepSeek", "华为", "CEO", "AI") for q in quotes)


def test_seed_quotes_order_best_first_and_deterministic(corpus):
    first = find_notable_quotes(corpus, limit=10)
    assert first == find_notable_quotes(corpus, limit=10)
    assert len(first) == 10
    assert find_notable_quotes(corpus, limit=3) == first[:3]
    # a named person's full statement comes before a one-word organisation speaker or a question
    speakers = [q.speaker for q in first]
    assert speakers[0] == "李彦宏"
    assert speakers.index("OpenAI") > speakers.index("Ritwik Gupta") if "OpenAI" in speakers else True
    assert not first[0].text.endswith(("?", "？"))


def test_quote_speakers_before_after_and_across_paragraphs(tmp_path):
    corpus = load_text(tmp_path, "\n".join([
        "市场总监王小明在发布会上表示：“我们明年会把产品卖到更多的国家去。”",
        "「好的工具应该让每个人都能用得起，而不只是少数人。」Anna Berg 称。",
        "记者问她未来的打算，她的回答很简单：",
        "“先把眼前的事做好，再去想十年以后的事情。”",
        "“机会总是留给有准备的人，这一点从来没有变过。”",
        "有人把这家公司叫作“小巨人”，这个说法流传很广。",
        "研究所的一位负责人曾警告称：“如果不加快进度，我们会错过整整一代技术。”",
    ]))
    quotes = {q.text: q.speaker for q in find_notable_quotes(corpus, limit=20)}
    assert quotes["我们明年会把产品卖到更多的国家去。"] == "王小明"
    assert quotes["好的工具应该让每个人都能用得起，而不只是少数人。"] == "Anna Berg"
    assert "小巨人" not in quotes  # a scare quote, not a statement
    assert not any("错过整整一代技术" in t for t in quotes)  # said by an unnamed 负责人


def test_speech_continued_over_paragraphs_keeps_its_speaker(tmp_path):
    corpus = load_text(tmp_path, "\n".join([
        "在一次采访中，创始人李大海直言：开源其实很难赚钱。",
        "“当你认真算一笔账，就会发现开源的成本远远高于它带来的直接收入。”",
        "“所以我们必须找到别的办法，让开源和商业可以互相支撑。”",
    ]))
    speakers = {q.text[:6]: q.speaker for q in find_notable_quotes(corpus)}
    assert speakers == {"当你认真算一": "李大海", "所以我们必须": "李大海"}


def test_a_quotation_alone_is_given_the_speaker_named_before_it(tmp_path):
    corpus = load_text(tmp_path, "\n".join([
        "在一次采访中，创始人李大海直言：开源其实很难赚钱。",
        "“当你认真算一笔账，就会发现开源的成本远远高于它带来的直接收入。”",
        "“所以我们必须找到别的办法，让开源和商业可以互相支撑。”",
        "有人把这家公司叫作“小巨人”，这个说法流传很广，也有人不同意这种说法。",
        "“这是一句没有人署名的话，前面也没有谁在说话。”",
    ]))
    speakers = quotation_speakers(corpus.passages)
    assert sorted(speakers.values()) == ["李大海", "李大海"]   # the two paragraphs of his speech
    assert all(corpus.passage(pid).text.startswith("“") for pid in speakers)


def test_no_quotes_in_a_corpus_without_quotation_marks(tmp_path):
    corpus = load_text(tmp_path, "这是一篇没有任何引语的短文，只讲了一件平常的小事。")
    assert find_notable_quotes(corpus) == []


def test_statements_add_reported_speech_interview_turns_and_organisations(tmp_path):
    from bot.quotes import find_statements
    corpus = load_text(tmp_path, "\n".join([
        "为这家公司提供资金的对冲基金远山资本公司强调，它的研究不会用于股票交易。",
        "Anna Berg 近期在 Morning Show 节目中提到，开源让小公司也能用上最好的模型。",
        "这种模型被认为是目前最先进的，ModelCo 的模型被认为很难追赶。",
        "一家量化公司表示，它们不会公开自己的交易策略和全部代码。",
        "记者：你为什么愿意把自己的模型免费公开给所有人使用？",
        "Anna Berg: 因为开放能让更多人参与进来，一起把模型做得更好、更安全。",
        "这也是我们团队每个人都相信的事情，我们会一直坚持下去的。",
        "记者：那你们怎么赚钱，投资人会不会担心这件事情呢？",
    ]))
    said = [(q.speaker, q.text[:8], q.reported) for q in find_statements(corpus) if q.speaker]
    assert ("远山资本", "为这家公司提供资", True) in said                 # an organisation in apposition
    assert ("Anna Berg", "Anna Ber", True) in said                       # not "Morning Show": where, not who
    assert ("Anna Berg", "因为开放能让更多", False) in said              # an interview turn, her own words
    assert ("Anna Berg", "这也是我们团队每", False) in said              # ... going on in the next paragraph
    speakers = {s for s, _, _ in said}
    assert not speakers & {"ModelCo", "量化", "记者", "Morning Show"}   # passive, a kind of company, the interviewer's label


def test_a_library_read_back_from_its_cache_quotes_the_same(corpus, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A big cached library makes its passages anew when asked: a speech over several paragraphs
    still carries its speaker (the passages are the same by id, not by identity)."""
    from bot import corpus as corpus_module
    from bot.quotes import find_statements

    monkeypatch.setattr(corpus_module, "LAZY_FROM", 0)

    config = load_config().corpus
    load_corpus(config, tmp_path / "cache")
    cached = load_corpus(config, tmp_path / "cache")
    assert type(cached.passages) is not tuple
    assert find_notable_quotes(cached, 20) == find_notable_quotes(corpus, 20)
    assert find_statements(cached) == find_statements(corpus)


def test_an_article_in_traditional_script_quotes_its_speakers_as_it_writes_them(tmp_path):
    # The patterns are written in Simplified Chinese (创始人, 表示, 认为); a Traditional article is
    # read through them one character for one, and what is quoted is the article's own text.
    from bot.quotes import find_statements
    corpus = load_text(tmp_path, "\n".join([
        "在一次採訪中，創始人李大海直言：開源其實很難賺錢。",
        "“當你認真算一筆賬，就會發現開源的成本遠遠高於它帶來的直接收入。”",
        "遠山資本公司強調，它的研究不會用於股票交易，這一點不會改變。",
    ]))
    assert sorted(quotation_speakers(corpus.passages).values()) == ["李大海"]
    said = [(q.speaker, q.text[:6]) for q in find_statements(corpus) if q.speaker]
    assert ("李大海", "當你認真算一") in said
    assert ("遠山資本", "遠山資本公司") in said
