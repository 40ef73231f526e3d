#!/usr/bin/env python3
"""Knowledge-base suggestions for a conversation, against a knowledge base of 5,000 articles.

    python bench/kb.py [--articles 5000] [--runs 200] [--seed 1]

Writes `--articles` Markdown files (the examples of config/kb/ plus generated ones in
English, Hungarian, Chinese, Persian and Uzbek: titles, tags, ~150-word bodies from a
Zipf-like vocabulary) into a temporary folder, indexes them (`kb index`'s refresh,
timed), then times `suggest.for_conversation` as the console calls it: per customer
message, `--runs` times, the throttled freshness check included (a stat pass of the
whole folder at most every 5 s, which lands in some runs: see max). Also timed: the
stat pass alone with nothing changed, and a refresh after one file changed.
Target: under 30 ms median per suggestion.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from omnidesk.desk import Desk  # noqa: E402
from omnidesk.kb import library, suggest  # noqa: E402
from omnidesk.model import Conversation, ConversationSummary, Customer, Message  # noqa: E402
from omnidesk.settings import KbSettings, Settings  # noqa: E402
from omnidesk.store.db import Database  # noqa: E402

#: Syllables that generated words are made of, per language (Chinese: characters, in HAN).
SYLLABLES = {language: tuple(text.split("|")) for language, text in {
    "en": "ba|be|ti|to|ran|ing|er|on|st|pro|ex|con|ac|ount|pay|ship|ord|ref|und|pass|word|log|de|re",
    "hu": "ki|be|jel|szó|fi|ók|szám|la|ren|de|lés|ví|sza|tér|í|tés|cso|mag|kül|dés|ügy|fél|ő|ű",
    "fa": "با|ر|د|ن|م|س|ت|ک|ی|ه|ا|ش|ب|پ|گ|و|ز|ف|ق|ل|ح",
    "uz": "pa|rol|his|ob|buy|urt|ma|to'|lov|qay|tar|ish|kir|yu|bor|o'r|nat|sh|ch",
}.items()}
HAN = "退款订单密码登录账户发货包裹仓库银行工作日邮件地址链接页面设置取消金额支付问题帮助客户服务时间"
MESSAGES = [
    ("hu", "Jó napot! Elfelejtettem a jelszavamat, és nem tudok belépni a fiókomba. A jelszó-visszaállító "
           "levél sem érkezik meg, pedig a levélszemét mappát is megnéztem. Mit tegyek?"),
    ("zh", "你好，我上周取消了订单，但是还没有收到退款。请问退款什么时候到账？订单号是 99120。"),
    ("fa", "سلام، گذرواژه‌ام را فراموش کرده‌ام و نمی‌توانم وارد حساب شوم. لطفاً راهنمایی کنید."),
    ("uz", "Assalomu alaykum! Parolimni unutdim, hisobimga kira olmayapman. Yordam bera olasizmi?"),
    ("en", " ".join(["Hello, I ordered a parcel two weeks ago and the tracking page has not changed since"
                     " Monday. Could you check with the carrier and either send a replacement or refund"
                     " my order? I also never got the confirmation email, not even in spam."] * 4)),
]


def word(rng: random.Random, language: str) -> str:
    if language == "zh":
        return "".join(rng.choice(HAN) for _ in range(rng.randint(2, 4)))
    return "".join(rng.choice(SYLLABLES[language]) for _ in range(rng.randint(2, 4)))


def vocabulary(rng: random.Random, language: str, size: int = 3000) -> list[str]:
    return list(dict.fromkeys(word(rng, language) for _ in range(size)))


def write_articles(folder: Path, count: int, seed: int) -> None:
    import shutil

    rng = random.Random(seed)
    shutil.copytree(ROOT / "config" / "kb", folder, dirs_exist_ok=True)
    languages = ["en", "hu", "zh", "fa", "uz"]
    vocab = {lang: vocabulary(rng, lang) for lang in languages}
    weights = [1 / (i + 1) for i in range(3000)]  # Zipf-like: a few words everywhere, most rare
    existing = sum(1 for _ in folder.rglob("*.md"))
    for n in range(count - existing):
        language = languages[n % 5]
        words = vocab[language]

        def pick(k: int, words: list[str] = words) -> list[str]:
            return rng.choices(words, weights=weights[: len(words)], k=k)

        sep = "" if language == "zh" else " "
        title = sep.join(pick(rng.randint(3, 6)))
        body = "\n\n".join(sep.join(pick(50)) for _ in range(3))
        tags = ", ".join(f'"{t}"' for t in pick(3))
        (folder / language).mkdir(exist_ok=True)
        front = f'id = "gen-{n // 5:05d}"\ntitle = "{title}"\nlanguage = "{language}"\ntags = [{tags}]\n'
        (folder / language / f"gen-{n // 5:05d}.md").write_text(f"+++\n{front}+++\n{body}\n", "utf-8")


def conversation(language: str, text: str) -> Conversation:
    summary = ConversationSummary(id=1, subject="Help", status="open", priority="normal", customer_id=1,
                                  customer_name="C", customer_address="c@example.com", channel_kind="email",
                                  channel_name="support", assignee=None, team=None, tags=(), message_count=1,
                                  last_activity_at=0, last_inbound_at=0, created_at=0, preview="")
    message = Message(id=1, conversation_id=1, direction="in", channel_id=1, channel_kind="email",
                      channel_name="support", external_id="<1@x>", author_name="C", author_address="c@x",
                      author_agent=None, subject="Help", text=text, display_text=text, sent_at=0,
                      sent_tz_offset=0, received_at=0)
    return Conversation(summary=summary, customer=Customer(id=1, name="C", language=language),
                        messages=(message,), events=())


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "kb"
        write_articles(folder, args.articles, args.seed)
        db = await Database.open(Path(tmp) / "omnidesk.db")
        desk = Desk(db=db, settings=replace(Settings(), kb=KbSettings(folder, "https://help.example")),
                    data_dir=Path(tmp))
        try:
            t0 = time.perf_counter()
            result = await library.refresh(desk)
            print(f"indexed {result.added} articles in {time.perf_counter() - t0:.2f} s")
            t0 = time.perf_counter()
            await library.refresh(desk)
            print(f"stat pass, nothing changed: {ms(time.perf_counter() - t0)}")
            changed = next(folder.rglob("gen-*.md"))
            changed.write_text(changed.read_text("utf-8") + "\nmore\n", "utf-8")
            t0 = time.perf_counter()
            await library.refresh(desk)
            print(f"refresh after one file changed: {ms(time.perf_counter() - t0)}")
            everything = []
            for language, text in MESSAGES:
                conv = conversation(language, text)
                await suggest.for_conversation(desk, conv)  # warm
                times = []
                for _ in range(args.runs):
                    t0 = time.perf_counter()
                    found = await suggest.for_conversation(desk, conv)
                    times.append(time.perf_counter() - t0)
                everything += times
                top = f"{found[0].article_id} ({found[0].language})" if found else "-"
                print(f"{language}: median {ms(statistics.median(times))}, p95 "
                      f"{ms(statistics.quantiles(times, n=20)[18])}, max {ms(max(times))}; top: {top}")
            print(f"all messages: median {ms(statistics.median(everything))} (target < 30 ms)")
        finally:
            await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"python bench/kb.py --articles {args.articles} --runs {args.runs} --seed {args.seed}")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
