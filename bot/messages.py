"""Every sentence the bot says to a user, in Chinese and English, and the choice between them."""

from __future__ import annotations

import re

# key -> {"zh": ..., "en": ...}; str.format placeholders are filled by say().
# Sections: engine (bot.conversation), console, telegram. Add keys; don't rename used ones.
TEXTS: dict[str, dict[str, str]] = {
    # --- engine ---------------------------------------------------------------------------
    "welcome": {
        "zh": "你好！我是 quotebot。问我关于这几篇文章的问题，我会引用原文里最相关的段落，并注明出自哪篇文章。",
        "en": "Hello! I'm quotebot. Ask me about these articles and I'll quote the most relevant "
              "passages, with the article each one comes from.",
    },
    "welcome_examples": {"zh": "可以试试：{examples}", "en": "Try: {examples}"},
    "help_intro": {
        "zh": "直接发问题即可，我会从文章里找出处。命令：",
        "en": "Just send a question and I'll find it in the articles. Commands:",
    },
    "help_start": {"zh": "/start — 开始，简单介绍", "en": "/start — a short introduction"},
    "help_help": {"zh": "/help — 这份说明", "en": "/help — this help"},
    "help_quote": {
        "zh": "/quote <问题> — 按问题引用原文，例如 /quote {example}；只发 /quote 给出文章里的名言",
        "en": "/quote <question> — quote the articles, e.g. /quote {example}; a bare /quote "
              "gives a notable quotation",
    },
    "help_more": {
        "zh": "/more — 上一个问题的更多段落（也可以发“更多”“还有吗”或“下一页”）",
        "en": "/more — more passages for the last question (or send \"more\")",
    },
    "help_sources": {"zh": "/sources — 收录了哪些文章", "en": "/sources — which articles I know"},
    "help_history": {"zh": "/history — 本对话最近的记录", "en": "/history — this chat's recent turns"},
    "help_forget": {"zh": "/forget — 删除本对话的记录", "en": "/forget — erase this chat's history"},
    "help_discuss": {
        "zh": "也可以问整批文章：",
        "en": "You can also ask about the articles as a whole:",
    },
    "help_overview": {"zh": "  概览 — 例如：{example}", "en": "  overview — e.g. {example}"},
    "help_speakers": {"zh": "  引用了谁 — 例如：{example}", "en": "  who is quoted — e.g. {example}"},
    "help_speakers_on": {"zh": "  谁谈到了什么 — 例如：{example}", "en": "  who spoke of something — e.g. {example}"},
    "help_comparison": {"zh": "  对比 — 例如：{example}", "en": "  comparison — e.g. {example}"},
    "help_who_said": {"zh": "  谁说的 — 例如：{example}", "en": "  who said it — e.g. {example}"},
    "help_where_from": {"zh": "  出处 — 回答之后问：{example}", "en": "  where it is from — after an answer: {example}"},
    "help_digest": {"zh": "  一篇文章的要点 — 例如：{example}（Telegram 里 /sources 下每篇有按钮）",
                    "en": "  one article's gist — e.g. {example} (in Telegram, a button per article under /sources)"},
    "help_followup": {
        "zh": "追问可以很短，比如“那他怎么看？”“详细说说”，我会接着上一个问题找。",
        "en": "Follow-ups can be short, like \"and what did he say?\" or \"tell me more\": I'll build on your last question.",
    },
    "followup": {"zh": "（接着上一个问题：{previous}）", "en": "(Following up on: {previous})"},
    "contrast": {"zh": "（上一个问题反过来问：{query}）", "en": "(The previous question the other way round: {query})"},
    "topic_side": {"zh": "（按上一个问题的话题来问：{query}）", "en": "(Asked of the previous question's topic: {query})"},
    "in_context": {"zh": "（上一条回答的第一段引文，后面是文章里它前后的段落）",
                   "en": "(The first passage of my last answer, then the paragraphs before and after it in the article.)"},
    "too_long": {
        "zh": "问题太长，只用了前 {limit} 个字来检索。",
        "en": "Your message is long: I searched with its first {limit} characters.",
    },
    "no_match": {
        "zh": "文章里没有找到和这个问题相关的内容。",
        "en": "I found nothing relevant to that in the articles.",
    },
    "topics": {"zh": "这些文章讲的是：{titles}", "en": "The articles cover: {titles}"},
    # A follow-up for something else (它还推出了什么？) when what was shown is all there is: the
    # question names no more than the earlier one did, so no name is said to have nothing more.
    "nothing_else": {
        "zh": "文章里没有别的相关内容了：上面那几段就是全部。",
        "en": "The articles say nothing more on that: the passages above are all there is.",
    },
    "named_elsewhere": {
        "zh": "文章里提到了{names}，但没有说到你问的这一点；可以问问{first}说了什么。",
        "en": "The articles mention {names}, but not what you asked; you could ask what {first} said.",
    },
    # The same when what the question names is a topic (开源), not someone who could have said anything.
    "named_elsewhere_topic": {
        "zh": "文章里提到了{names}，但没有说到你问的这一点。",
        "en": "The articles mention {names}, but not what you asked.",
    },
    "nearby": {
        "zh": "（直接回答这个问题的段落就是前面那些；下面是第一段所在章节里的其他相关段落。）",
        "en": "(The passages that answer it were the earlier ones; here is more from the first one's section.)",
    },
    "nearby_from": {
        "zh": "（从第 {number} 段起不再直接回答这个问题，是第一段所在章节里的其他相关段落。）",
        "en": "(From passage {number} on, they no longer answer it directly: more from the first one's section.)",
    },
    "no_more": {
        "zh": "这个问题没有更多相关段落了。",
        "en": "There are no more relevant passages for that question.",
    },
    "no_previous": {
        "zh": "还没有可以继续的问题，先问一个吧。",
        "en": "There is no earlier question to continue: ask one first.",
    },
    "acknowledged": {"zh": "好的。还想知道什么，直接问就行。", "en": "OK. Ask me anything else about the articles."},
    "own_view": {"zh": "（我只引用文章的原话，不发表自己的看法。下面是文章里谈到这个话题的人怎么说。）",
                 "en": "(I only quote the articles; I have no view of my own. Here is what those quoted on it say.)"},
    "own_view_elsewhere": {"zh": "（我只引用文章的原话，不发表自己的看法。文章里没有人就此表态，下面是文章里关于它的其他段落。）",
                           "en": "(I only quote the articles; I have no view of my own. No one quoted takes a side on it; here is what else the articles say about it.)"},
    "own_view_alone": {"zh": "我只引用文章的原话，不发表自己的看法。问一个关于文章的问题，例如：{example}",
                       "en": "I only quote the articles; I have no view of my own. Ask about them, e.g. {example}"},
    "both_which": {"zh": "比较哪两个？请写出两边的名字，例如：{example}",
                   "en": "Compare which two? Name both sides, e.g. {example}"},
    "empty": {
        "zh": "请发一个问题，例如：{example}",
        "en": "Please send a question, for example: {example}",
    },
    "unusable": {
        "zh": "这条消息里没有可以检索的文字，请用文字提问，例如：{example}",
        "en": "There are no words in that message I can search for. Ask in words, for example: {example}",
    },
    "quotes_intro": {"zh": "文章里的名言：", "en": "Notable quotations from the articles:"},
    "no_quotes_on": {"zh": "文章里没有找到谁就「{topic}」说过什么。",
                     "en": "I found no one quoted on “{topic}” in the articles."},
    "speakers_on_intro": {
        "zh": "就「{topic}」，文章引用了 {total} 位人物或机构的话（第 {first}–{last} 位）：",
        "en": "On “{topic}”, the articles quote {total} people or organisations ({first}–{last}):",
    },
    "stance_unsaid": {
        "zh": "（文章里没有直接说谁「{stance}」；下面是谈到这个话题的人的原话，各自的立场请从原话判断。）",
        "en": "(No passage says in so many words who {stance} it; here is what those quoted on the topic said, "
              "to judge where each stands.)",
    },
    "no_quotes": {"zh": "文章里没有找到署名的引语。", "en": "I found no attributed quotations in the articles."},
    "sources_intro": {"zh": "收录了 {count} 篇文章：", "en": "I know {count} articles:"},
    "history_intro": {"zh": "本对话最近的记录：", "en": "This chat's recent turns:"},
    "history_empty": {"zh": "本对话还没有记录。", "en": "This chat has no history yet."},
    "forgotten": {
        "zh": "已删除本对话的 {count} 条记录。",
        "en": "Erased this chat's history ({count} turns).",
    },
    "unknown_command": {
        "zh": "不认识 {command} 这个命令。可用的命令：{commands}",
        "en": "I don't know the command {command}. Commands: {commands}",
    },
    # --- discussing the material (bot.discussion) ---------------------------------------------
    "overview_intro": {
        "zh": "共 {total} 篇文章，每篇一段最能代表它的原文（第 {first}–{last} 篇）：",
        "en": "{total} articles, each with the passage that best stands for it (articles {first}–{last}):",
    },
    "speakers_intro": {
        "zh": "文章引用了 {total} 位人物或机构的话，每位一句最有代表性的（第 {first}–{last} 位）：",
        "en": "The articles quote {total} people or organisations; the most notable words of each "
              "({first}–{last}):",
    },
    "comparison_intro": {"zh": "{a} 与 {b}{on}，各自在文章里的原话：",
                         "en": "{a} and {b}{on}, each in the articles' own words:"},
    "comparison_on": {"zh": "（关于“{topic}”）", "en": " on “{topic}”"},
    "comparison_topic_unsaid": {"zh": "文章里没有就“{topic}”谈到{a}和{b}；下面是两者在文章里各自的原话。",
                                "en": "The articles say nothing of {a} and {b} on “{topic}”; here is what they say of each."},
    "comparison_side_empty": {"zh": "文章里没有找到{side}{on}的内容。",
                              "en": "The articles say nothing about {side}{on}."},
    "comparison_both": {"zh": "{a} 和 {b} 一并提到", "en": "{a} and {b} together"},
    "comparison_side_only_both": {"zh": "文章只在上面和{other}一并提到{side}{on}。",
                                  "en": "The articles mention {side}{on} only together with {other}, above."},
    "who_said": {"zh": "这句话是 {speaker} 说的：", "en": "{speaker} said it:"},
    "who_said_closest": {
        "zh": "文章里没有一字不差的这句话；最接近的是 {speaker} 的话：",
        "en": "The articles do not have those exact words; the closest are {speaker}'s:",
    },
    "who_said_unnamed": {"zh": "文章没有写明这句话是谁说的，原文如下：",
                         "en": "The article does not say who said it; here is the passage:"},
    "who_said_closest_unnamed": {
        "zh": "文章里没有一字不差的这句话，也没写明是谁说的；最接近的原文：",
        "en": "The articles do not have those exact words or name who said them; the closest passage:",
    },
    "who_said_nothing": {"zh": "先问一个问题，我再告诉你那段话是谁说的。",
                         "en": "Ask a question first; then I can tell you who said the passage."},
    "digest_intro": {
        "zh": "《{title}》共 {total} {unit}，每{unit}的关键句（第 {first}–{last} {unit}）：",
        "en": "“{title}”: {total} {unit}, the key sentence of each ({first}–{last}):",
    },
    "digest_sections": {"zh": "部分", "en": "sections"},
    "digest_paragraphs": {"zh": "段", "en": "paragraphs"},
    "digest_paragraph": {"zh": "第 {n} 段", "en": "Paragraph {n}"},
    "digest_opening": {"zh": "开头", "en": "Opening"},
    "where_from": {"zh": "这段出自《{title}》。", "en": "This passage is from “{title}”."},
    "where_from_date": {"zh": "发表于 {date}。", "en": "Published {date}."},
    "where_from_link": {"zh": "原文：{url}", "en": "Original: {url}"},
    "where_from_nothing": {"zh": "先问一个问题，我再告诉你那段话出自哪篇文章。",
                           "en": "Ask a question first; then I can tell you which article its passage is from."},
    "digest_which": {"zh": "是哪篇文章？请写出标题（写一部分也可以），例如：{example}讲了什么",
                     "en": "Which article? Name its title (part of it will do), e.g. {example}"},
    "digest_missing": {"zh": "找不到这篇文章了，文章可能已经更新。请发 /sources 再看看。",
                       "en": "That article is no longer there (the articles may have changed). Try /sources."},
    "bot_summary_answer": {"zh": "引用了 {count} 段", "en": "quoted {count} passages"},
    "bot_summary_none": {"zh": "没有找到相关段落", "en": "no relevant passage"},
    "bot_summary_no_more": {"zh": "没有更多相关段落了", "en": "no more passages"},
    # --- console --------------------------------------------------------------------------
    "console_banner": {
        "zh": "quotebot 控制台：输入问题回车即可，/help 查看命令，Ctrl-D 退出。",
        "en": "quotebot console: type a question and press Enter, /help for commands, Ctrl-D to quit.",
    },
    "console_more_hint": {"zh": "更多: /more", "en": "More: /more"},
    "console_source_line": {
        "zh": "{title}（{count} 段）关键词：{keywords}",
        "en": "{title} ({count} passages) keywords: {keywords}",
    },
    "console_role_user": {"zh": "你", "en": "you"},
    "console_role_bot": {"zh": "bot", "en": "bot"},
    "cli_no_results": {"zh": "（没有相关段落）", "en": "(no relevant passage)"},
    # --- telegram -------------------------------------------------------------------------
    "tg_button_more": {"zh": "更多", "en": "More"},
    "tg_button_context": {"zh": "上下文 {n}", "en": "Context {n}"},
    "tg_button_digest": {"zh": "要点 {n}", "en": "Gist {n}"},
    "tg_button_next_sources": {"zh": "下一页", "en": "Next page"},
    "tg_sources_page": {"zh": "（第 {first}–{last} 篇，按编号看要点）", "en": "(articles {first}–{last}; tap a number for its gist)"},
    "tg_more_stale": {
        "zh": "这个按钮属于之前的问题；“更多”只接着最近一个问题。",
        "en": "That button belongs to an earlier question: \"More\" continues only the latest one.",
    },
    "quote_speaker": {"zh": "—— {speaker}，{source}", "en": "— {speaker}, {source}"},
    "tg_source": {"zh": "—— 《{title}》", "en": "— “{title}”"},
    "tg_source_section": {"zh": "—— 《{title}》 · {section}", "en": "— “{title}”, {section}"},
    "tg_context_header": {"zh": "《{title}》中的上下文：", "en": "In context, from “{title}”:"},
    "tg_context_missing": {
        "zh": "找不到这段原文了，文章可能已经更新。请重新提问。",
        "en": "That passage is no longer there (the articles may have changed). Please ask again.",
    },
    "tg_source_item": {"zh": "{title}（{count} 段）关键词：{keywords}",
                       "en": "{title} ({count} passages) keywords: {keywords}"},
    "tg_role_user": {"zh": "你", "en": "you"},
    "tg_role_bot": {"zh": "bot", "en": "bot"},
    "tg_trimmed": {"zh": "（太长，已截断）", "en": "(cut to fit Telegram's limit)"},
    "tg_non_text": {
        "zh": "我只能读文字。请用文字提问，例如：{example}",
        "en": "I can only read text. Please ask in words, for example: {example}",
    },
    "tg_throttled": {
        "zh": "问得有点快了：每人每分钟最多 {limit} 个问题，请稍等片刻再问。",
        "en": "That's a lot of questions: up to {limit} a minute per person. Please wait a moment.",
    },
    "tg_apology": {
        "zh": "抱歉，处理这条消息时出了点问题，请稍后再试。",
        "en": "Sorry, something went wrong with that message. Please try again in a moment.",
    },
    "tg_admins_only": {
        "zh": "在群组里只有管理员可以用 /forget 删除记录。",
        "en": "In a group, only administrators can erase the history with /forget.",
    },
    "tg_inline_more": {"zh": "在文章里搜索 {query}", "en": "Search the articles for {query}"},
    "tg_cmd_start": {"zh": "开始，简单介绍", "en": "Start: a short introduction"},
    "tg_cmd_help": {"zh": "使用说明", "en": "How to use the bot"},
    "tg_cmd_quote": {"zh": "引用原文回答问题：/quote 问题", "en": "Quote the articles: /quote question"},
    "tg_cmd_more": {"zh": "上一个问题的更多段落", "en": "More passages for the last question"},
    "tg_cmd_sources": {"zh": "收录了哪些文章", "en": "Which articles the bot knows"},
    "tg_cmd_history": {"zh": "本对话最近的记录", "en": "This chat's recent turns"},
    "tg_cmd_forget": {"zh": "删除本对话的记录", "en": "Erase this chat's history"},
    "tg_no_token": {
        "zh": "没有 Telegram 机器人令牌：请设置环境变量 TELEGRAM_BOT_TOKEN，或在配置里设置 telegram.token_file"
              "（作为 systemd 服务时用凭据 telegram-token）。",
        "en": "No Telegram bot token: set TELEGRAM_BOT_TOKEN or telegram.token_file in the config "
              "(as a systemd service: the credential telegram-token).",
    },
    "tg_bad_token": {
        "zh": "Telegram 机器人令牌格式不对：应该像 123456789:AA... 这样（数字、冒号、一串字母数字）。",
        "en": "The Telegram bot token is malformed: it should look like 123456789:AA... "
              "(digits, a colon, then letters and digits).",
    },
    "tg_token_file_unreadable": {
        "zh": "读不了令牌文件 {path}。",
        "en": "Cannot read the token file {path}.",
    },
    "tg_token_rejected": {
        "zh": "Telegram 拒绝了这个机器人令牌，请检查 TELEGRAM_BOT_TOKEN。",
        "en": "Telegram rejected the bot token: check TELEGRAM_BOT_TOKEN.",
    },
    "tg_unreachable": {
        "zh": "连不上 Bot API 服务器 {url}，请检查网络或 --api-base-url。",
        "en": "Cannot reach the Bot API at {url}: check the network or --api-base-url.",
    },
    "tg_webhook_no_url": {
        "zh": "webhook 模式需要在配置里设置 telegram.webhook.url（Telegram 访问的公网 https 地址）。",
        "en": "Webhook mode needs telegram.webhook.url in the config (the public https URL Telegram posts to).",
    },
    "tg_button_share": {"zh": "分享", "en": "Share"},
    "tg_button_ask_bot": {"zh": "去问 quotebot", "en": "Ask quotebot"},
    "tg_button_unknown": {
        "zh": "这个按钮已经失效了，请重新提问。",
        "en": "That button no longer works. Please ask again.",
    },
    "tg_group_busy": {
        "zh": "群里的问题太多了：我在一个群里每分钟最多只能发 {limit} 条消息。为了不让回复拖得太久，"
              "接下来的问题先不回答了，请过一分钟再问。",
        "en": "Too many questions at once: I can send at most {limit} messages a minute in a group. "
              "So that replies don't come minutes late, I'm skipping the next ones: please ask again "
              "in a minute.",
    },
    "tg_description": {
        "zh": "我会回答关于收录文章的问题，并逐字引用原文段落、注明出处。"
              "直接发问题即可，例如：DeepSeek 为什么要开源？在群里用 /quote 问题。",
        "en": "I answer questions about a small library of Chinese articles by quoting their passages "
              "word for word, each with its source. Just send a question; in a group, use /quote.",
    },
    "tg_short_description": {
        "zh": "用原文引用回答关于文章的问题，注明出处。",
        "en": "Answers questions about the articles with exact quotes and their sources.",
    },
    "tg_startup_failed": {
        "zh": "机器人启动失败：{reason}",
        "en": "The bot could not start: {reason}",
    },
    # --- admin (bot.telegram.admin) ------------------------------------------------------------
    "tg_cmd_stats": {"zh": "统计：问题、回答率、没答上的问题", "en": "Stats: questions, answer rate, unanswered"},
    "tg_cmd_reload": {"zh": "重新读取文章库（不用重启）", "en": "Reload the articles (no restart)"},
    "admin_stats_title": {"zh": "统计（最近 7 天）", "en": "Stats (last 7 days)"},
    "admin_stats_volume": {"zh": "今天 {today} 个问题，最近 7 天 {week} 个。",
                           "en": "{today} questions today, {week} in the last 7 days."},
    "admin_stats_outcomes": {
        "zh": "找到答案 {answered_share:.0%}（{answered}）· 没找到 {no_match_share:.0%}（{no_match}）"
              "· 被限流 {throttled_share:.0%}（{throttled}）",
        "en": "answered {answered_share:.0%} ({answered}) · nothing relevant {no_match_share:.0%} ({no_match})"
              " · throttled {throttled_share:.0%} ({throttled})",
    },
    "admin_stats_median": {"zh": "回复时间中位数：{seconds:.2f} 秒", "en": "Median reply time: {seconds:.2f} s"},
    "admin_stats_unanswered": {
        "zh": "没找到答案、问得最多的问题（可以据此补充文章）：",
        "en": "Most asked questions that found nothing (articles to add):",
    },
    "admin_stats_chats": {"zh": "最忙的对话（id）：{chats}", "en": "Busiest chats (ids): {chats}"},
    "admin_reload_started": {
        "zh": "正在后台重新读取文章库……期间照常用现在的文章库回答。",
        "en": "Reloading the articles in the background; questions are answered from the current library meanwhile.",
    },
    "admin_reload_busy": {"zh": "已经在重新读取了，请等它完成。", "en": "A reload is already running: wait for it to finish."},
    "admin_reload_done": {
        "zh": "文章库已更新：{articles} 篇文章，{passages} 段（用时 {seconds:.1f} 秒）。",
        "en": "Library reloaded: {articles} articles, {passages} passages ({seconds:.1f} s).",
    },
    "admin_reload_added": {"zh": "新增：{titles}", "en": "Added: {titles}"},
    "admin_reload_removed": {"zh": "移除：{titles}", "en": "Removed: {titles}"},
    "admin_reload_failed": {
        "zh": "重新读取失败，正在运行的文章库没有变：{reason}",
        "en": "The reload failed; the running library is unchanged: {reason}",
    },
    "article_saved": {
        "zh": "已保存 {name}：《{title}》，{passages} 段。发 /reload 让它生效。",
        "en": "Saved {name}: “{title}”, {passages} passages. Send /reload to put it in the library.",
    },
    "article_replaced": {
        "zh": "已用新文件替换 {name}：《{title}》，{passages} 段。发 /reload 让它生效。",
        "en": "Replaced {name}: “{title}”, {passages} passages. Send /reload to put it in the library.",
    },
    "article_needs_title": {
        "zh": "{name} 没有标题（开头没有“# 标题”这样的行）。请回复它的标题，或发 /cancel 放弃。",
        "en": "{name} has no title (no '# Title' line at the top). Reply with its title, or /cancel.",
    },
    "article_cancelled": {"zh": "已放弃 {name}，没有保存。", "en": "Dropped {name}: nothing was saved."},
    "article_bad_type": {"zh": "只收 {suffixes} 文件。", "en": "Only {suffixes} files can be added."},
    "article_bad_name": {"zh": "文件名里没有可用的字符，请改个名字再发。",
                         "en": "The file name has no usable characters: rename it and send it again."},
    "article_too_big": {
        "zh": "文件太大（{size} 字节），上限是 {limit} 字节。",
        "en": "The file is too big ({size} bytes); the limit is {limit} bytes.",
    },
    "article_not_utf8": {
        "zh": "文件不是 UTF-8 文本（第 {offset} 个字节出错），请另存为 UTF-8 再发。",
        "en": "The file is not UTF-8 text (bad byte at offset {offset}): save it as UTF-8 and send it again.",
    },
    "article_not_text": {"zh": "这个文件不是纯文本。", "en": "That file is not plain text."},
    "article_unreadable": {"zh": "读不了这个文件。", "en": "I could not read that file."},
    "article_empty": {"zh": "文件里没有可以引用的正文。", "en": "The file has no text to quote."},
    "article_bad_title": {
        "zh": "标题要是一行字，最多 {limit} 个字。请再发一次，或发 /cancel 放弃。",
        "en": "A title is one line of at most {limit} characters. Send it again, or /cancel.",
    },
}

# Example questions for each way of discussing the material, shown by /help (the comparison and
# "who said it" examples are written for the bundled articles, like EXAMPLES; the digest example
# is made from the library's first title).
DISCUSSION_EXAMPLES: dict[str, dict[str, str]] = {
    "zh": {"overview": "这几篇文章主要讲什么？", "speakers": "文章里都有谁发言？", "speakers_on": "哪些人谈到了开源？",
           "comparison": "李彦宏和梁文锋对开源有什么不同看法？", "who_said": "“开源其实是一种智商税”是谁说的？",
           "where_from": "出处呢？", "digest": "《{title}》讲了什么？"},
    "en": {"overview": "Give me an overview of the articles", "speakers": "Which people are quoted?",
           "speakers_on": "Who talked about export controls?",
           "comparison": "Compare OpenAI and DeepSeek on open source", "who_said": "Who said open source is an IQ tax?",
           "where_from": "Where is this from?", "digest": "What is the article “{title}” about?"},
}

# Example questions offered by /start, /help and the empty-input reply (written for the
# bundled articles; a deployment on another corpus changes these lines).
EXAMPLES: dict[str, tuple[str, ...]] = {
    "zh": ("DeepSeek 为什么要开源？", "出口管制对中国的 AI 有什么影响？", "应用层的创业机会在哪里？"),
    "en": ("Why does DeepSeek open-source its models?", "What do export controls change for Chinese AI?",
           "Where are the opportunities for AI start-ups?"),
}

_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]|[A-Za-z]")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def say(key: str, lang: str, **values: object) -> str:
    """The sentence for key in lang ("zh" or "en"), with values filled in."""
    entry = TEXTS[key]
    return entry.get(lang, entry["zh"]).format(**values)


# Words that are English alone, capitalized or not: a follow-up's question word, a reply's thanks.
_ENGLISH_ALONE = frozenset(("why", "how", "what", "when", "where", "who", "whom", "whose", "which", "really",
                            "thanks", "thank", "yes", "no", "ok", "okay", "and", "more", "hello", "hi", "help",
                            "example", "examples", "sources"))


def detect_lang(text: str, hint: str | None = None) -> str:
    """'en' for an English question or an English-speaking user with no Chinese in the text, else 'zh'.

    Any Han character means Chinese. Latin words that read as a sentence (two or more words, one of
    them all lower case, like "what did he say") mean English whatever the hint. Otherwise — a brand
    or a name alone ("DeepSeek", "Sarah Guo"), digits, emoji — the transport's hint decides, and
    without a hint a single lower-case word ("hello") is English and anything else Chinese, the
    articles' language.
    """
    text = text or ""
    hinted = (hint or "").lower()
    if _HAN.search(text):
        return "zh"
    words = _LATIN_WORD.findall(text)
    lower = [w for w in words if len(w) > 1 and w.islower()]
    if len(words) >= 2 and lower:
        return "en"
    if len(words) == 1 and words[0].lower() in _ENGLISH_ALONE:
        return "en"   # "Why?", "How?", "Thanks": English however written, where a name alone is not
    if hinted:
        return "en" if hinted.startswith("en") else "zh"
    return "en" if lower else "zh"
