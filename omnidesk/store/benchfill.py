"""Bench-only: fill a migrated database with a large synthetic desk by direct bulk inserts.

The real ingest path (omnidesk/inbound/ingest.py) is measured by bench/ingest.py; this
module exists so bench/store.py can build 100,000 conversations / 500,000
messages in a minute and measure the read side. Not used by the application.
Rows are what ingest would write (FTS columns prepared by omnidesk/textindex.py),
message ids increase with send time as they do for live traffic.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from pathlib import Path

from omnidesk import textindex
from omnidesk.eventkinds import EventKind
from omnidesk.store import references
from omnidesk.store.events import write_event

DAY_MS = 86_400_000

def _w(text: str) -> list[str]:
    return text.split()


# Common support words, per language; a long tail of rarer words is generated.
WORDS = {
    "en": _w("order refund invoice shipping delayed package account password reset login error crash app "
           "update charge card subscription cancel plan upgrade discount warranty broken screen battery "
           "replacement return label tracking number customer support please help urgent thanks again "
           "still waiting since last week the a to and of my is it for not have you this with on"),
    "hu": _w("rendelés visszatérítés számla szállítás késik csomag fiók jelszó bejelentkezés hiba "
           "alkalmazás frissítés kártya előfizetés lemondás garancia képernyő akkumulátor csere "
           "visszaküldés ügyfélszolgálat kérem segítsen sürgős köszönöm még mindig várok"),
    "zh": _w("订单 退款 发票 运送 延迟 包裹 账户 密码 重设 登录 错误 应用程序 更新 信用卡 订阅 取消 "
           "方案 升级 折扣 保修 屏幕 电池 更换 退货 追踪 客户服务 请帮忙 紧急 谢谢 还在等待 上周"),
    "fa": _w("سفارش بازپرداخت فاکتور ارسال تاخیر بسته حساب رمز ورود خطا برنامه بروزرسانی "
           "کارت اشتراک لغو گارانتی صفحه باتری تعویض مرجوعی پیگیری مشتری پشتیبانی لطفا کمک فوری "
           "ممنون"),
    "uz": _w("buyurtma qaytarish hisob-faktura yetkazib berish kechikdi posilka hisob parol kirish xato "
           "ilova yangilash karta obuna bekor qilish kafolat ekran batareya almashtirish mijoz "
           "iltimos yordam bering shoshilinch rahmat"),
}
LANGS = [("en", 55), ("hu", 15), ("zh", 12), ("fa", 9), ("uz", 9)]
FIRST = _w("Ann Bob Chen Dora Emil Farah Gábor Hoang Ilona János Kamila Li Wei Mehdi Nasrin Olga Péter "
         "Qiu Rustam Sára Tamás Umida Viktória Wang Xu Yasmin Zoltán Dilnoza Shirin Ákos")
LAST = _w("Lee Smith Kovács Nagy Wang Zhang Rahimi Karimov Tóth Szabó Horváth Chen Liu Ahmadi Yusupova "
        "Farkas Varga Huang Moradi Tursunov")
TAGS = _w("billing refund shipping bug vip feature-request login mobile invoice warranty complaint "
        "partner press legal urgent-followup returns api onboarding churn-risk praise")
STATUS_WEIGHTS = [("open", 25), ("pending", 15), ("snoozed", 5), ("resolved", 50), ("spam", 5)]
PRIORITY_WEIGHTS = [("low", 15), ("normal", 65), ("high", 15), ("urgent", 5)]
AGENTS = ("alice", "bob", "chen", "dora", "emil")


def _tail_words(rng: random.Random, count: int) -> list[str]:
    syllables = _w("ka lo mi ne su ta re vo zi an el ur ost ing tor mex pla dru sen vik")
    seen: set[str] = set()
    while len(seen) < count:
        seen.add("".join(rng.choices(syllables, k=rng.randint(2, 4))))
    return sorted(seen)


class _Text:
    """Zipf-ish text: common words of the language dominate, a 20k-word tail supplies rare ones."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        tail = _tail_words(rng, 20_000)
        self.vocab = {}
        for lang, words in WORDS.items():
            vocab = words + ([] if lang == "zh" else tail)
            weights = [1.0 / (rank + 1) ** 1.05 for rank in range(len(vocab))]
            total, acc, cum = sum(weights), 0.0, []
            for w in weights:
                acc += w / total
                cum.append(acc)
            self.vocab[lang] = (vocab, cum)

    def words(self, lang: str, n: int) -> str:
        vocab, cum = self.vocab[lang]
        picked = self.rng.choices(vocab, cum_weights=cum, k=n)
        return ("" if lang == "zh" else " ").join(picked)


def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([w for w, _ in weighted], weights=[n for _, n in weighted])[0]


def fill(path: Path, *, conversations: int = 100_000, messages: int = 500_000, seed: int = 1,
         now_ms: int = 1_795_000_000_000, analyze: bool = False,
         progress: Callable[[str], None] = lambda _: None) -> dict[str, int]:
    """Fill the (migrated, empty) database at `path`. Returns row counts."""
    rng = random.Random(seed)
    text = _Text(rng)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -200000")
    conn.execute("BEGIN")
    created = now_ms - 800 * DAY_MS
    for i, name in enumerate(AGENTS, start=1):
        conn.execute("INSERT INTO agents (id, name, display_name, email, created_at) VALUES (?, ?, ?, ?, ?)",
                     (i, name, name.title(), f"{name}@example.com", created))
        conn.execute("INSERT INTO agent_identities (agent_id, kind, address) VALUES (?, 'email', ?)",
                     (i, f"{name}@example.com"))
    channels = [(1, "support", "email", "support@example.com"), (2, "phone", "phone", None),
                (3, "slack", "slack", None)]
    conn.executemany("INSERT INTO channels (id, name, kind, address, created_at) VALUES (?, ?, ?, ?, ?)",
                     [(*c, created) for c in channels])
    conn.executemany("INSERT INTO tags (id, name) VALUES (?, ?)", list(enumerate(TAGS, start=1)))

    n_customers = max(1, conversations * 2 // 5)
    customers = []
    for cid in range(1, n_customers + 1):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        address = f"{name.split()[0].lower()}.{cid}@example.{rng.choice(['com', 'hu', 'cn', 'ir', 'uz'])}"
        customers.append((cid, name, address))
    conn.executemany("INSERT INTO customers (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)",
                     [(cid, name, created, created) for cid, name, _ in customers])
    conn.executemany("INSERT INTO identities (id, customer_id, kind, address, display_name, created_at)"
                     " VALUES (?, ?, 'email', ?, ?, ?)",
                     [(cid, cid, address, name, created) for cid, name, address in customers])
    progress(f"{n_customers} customers")

    # Spread messages over conversations (1..9 each, averaging messages/conversations).
    per_conv = [1] * conversations
    for _ in range(messages - conversations):
        per_conv[rng.randrange(conversations)] += 1
    span = 730 * DAY_MS
    convs, msgs = [], []
    for conv_id in range(1, conversations + 1):
        cust_id, cust_name, cust_addr = customers[rng.randrange(n_customers)]
        lang = _pick(rng, LANGS)
        start = now_ms - span + int(span * (conv_id / conversations) ** 0.7) - rng.randrange(DAY_MS)
        subject = text.words(lang, rng.randint(3, 7))
        when = start
        last_in = None
        for k in range(per_conv[conv_id - 1]):
            when += rng.randrange(60_000, 2 * DAY_MS)
            direction = "in" if k % 2 == 0 else ("note" if rng.random() < 0.1 else "out")
            body = "\n\n".join(text.words(lang, rng.randint(10, 40)) for _ in range(rng.randint(1, 3)))
            if direction == "in":
                author, address, channel, last_in = cust_name, cust_addr, 1, when
            else:
                author, address = rng.choice(AGENTS).title(), "support@example.com"
                channel = 1 if direction == "out" else None
            ident = cust_id if direction == "in" else None
            msgs.append((when, conv_id, channel, direction, author, address,
                         subject if k == 0 else f"Re: {subject}", body, ident))
        status = _pick(rng, STATUS_WEIGHTS)
        assignee = rng.randint(1, len(AGENTS)) if rng.random() < 0.6 else None
        convs.append((conv_id, cust_id, subject, status, _pick(rng, PRIORITY_WEIGHTS), assignee,
                      1, start, when, last_in, per_conv[conv_id - 1],
                      when + DAY_MS if status in ("resolved",) else None,
                      start + rng.randrange(4 * DAY_MS) if status in ("open", "pending") else None,
                      now_ms + rng.randrange(7 * DAY_MS) if status == "snoozed" else None))
    conn.executemany(
        "INSERT INTO conversations (id, customer_id, subject, status, priority, assignee_id, channel_id,"
        " created_at, last_activity_at, last_inbound_at, message_count, resolved_at, sla_due_at,"
        " snoozed_until)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", convs)
    tag_rows = {(conv_id, rng.randint(1, len(TAGS))) for conv_id in range(1, conversations + 1)
                for _ in range(rng.choice((0, 0, 1, 1, 2)))}
    conn.executemany("INSERT INTO conversation_tags (conversation_id, tag_id) VALUES (?, ?)",
                     sorted(tag_rows))
    progress(f"{conversations} conversations")

    msgs.sort(key=lambda m: m[0])  # ids follow time, as with live traffic
    batch_m, batch_f = [], []
    for mid, (when, conv_id, channel, direction, author, address, subject, body, ident) in enumerate(msgs, 1):
        batch_m.append((mid, conv_id, channel, direction, f"<{mid}@bench>", ident, author, address,
                        subject, body, "", when, when))  # display_text: "" = nothing folded
        batch_f.append((mid, textindex.prepare(subject), textindex.prepare(body),
                        textindex.prepare(f"{author} {address}")))
        if len(batch_m) == 20_000:
            _flush(conn, batch_m, batch_f)
            progress(f"{mid} messages")
    _flush(conn, batch_m, batch_f)
    conn.execute("COMMIT")
    if analyze:  # off by default: the application never runs ANALYZE, so measure without statistics
        conn.execute("ANALYZE")
    conn.execute("INSERT INTO message_fts(message_fts) VALUES ('optimize')")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return {"conversations": conversations, "messages": len(msgs), "customers": n_customers}


def _flush(conn: sqlite3.Connection, batch_m: list[tuple], batch_f: list[tuple]) -> None:
    conn.executemany(
        "INSERT INTO messages (id, conversation_id, channel_id, direction, external_id, author_identity_id,"
        " author_name, author_address, subject, text, display_text, sent_at, received_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch_m)
    conn.executemany("INSERT INTO message_fts (rowid, subject, body, sender) VALUES (?, ?, ?, ?)", batch_f)
    conn.executemany(references.ADD, [("", m[4], m[2], m[0]) for m in batch_m if m[4] and m[2] is not None])
    batch_m.clear()
    batch_f.clear()


def stats(path: Path) -> dict[str, int]:
    """Row counts and stored text bytes, for the bench's bytes-per-message figure."""
    conn = sqlite3.connect(path)
    try:
        return {
            "messages": conn.execute("SELECT count(*) FROM messages").fetchone()[0],
            "conversations": conn.execute("SELECT count(*) FROM conversations").fetchone()[0],
            "text_bytes": conn.execute("SELECT coalesce(sum(length(CAST(text AS BLOB))), 0) FROM messages")
            .fetchone()[0],
        }
    finally:
        conn.close()


def open_for_sla(path: Path, *, seed: int = 1, pending_share: float = 0.1) -> int:
    """Bench-only: every live conversation open, a share pending since a status event some hours
    after it started (so their SLA clocks stand), none with a clock yet. Returns how many."""
    rng = random.Random(seed)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        conn.execute("UPDATE conversations SET status = 'open', snoozed_until = NULL, resolved_at = NULL,"
                     " sla_due_at = NULL WHERE merged_into IS NULL")
        rows = conn.execute("SELECT id, created_at FROM conversations WHERE merged_into IS NULL").fetchall()
        pending = [(cid, created + rng.randrange(3_600_000, 2 * DAY_MS)) for cid, created in rows
                   if rng.random() < pending_share]
        conn.executemany("UPDATE conversations SET status = 'pending' WHERE id = ?",
                         [(c,) for c, _ in pending])
        for cid, at in pending:
            write_event(conn, cid, None, EventKind.STATUS, {"status": "open"}, {"status": "pending"}, at)
        conn.execute("COMMIT")
        return len(rows)
    finally:
        conn.close()
