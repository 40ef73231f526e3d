# ruff: noqa: E501  (prose in five scripts reads better unbroken than wrapped at 110 columns)
"""What the demo's customers are called and what they write, in five languages.

Plain data: the builder and the simulator draw from it with a seeded random,
so a seed always makes the same desk. Addresses use the reserved `.example`
top-level domain; phone numbers are in ranges set aside for fiction or are
ordinary-looking local numbers that are never dialled (nothing leaves the machine).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Language:
    code: str
    timezones: tuple[str, ...]
    domains: tuple[str, ...]
    charset: str  # the legacy charset some of its mail clients still send
    phone_prefix: str
    names: tuple[tuple[str, str], ...]  # (display name, ascii local part)
    issues: tuple[tuple[str, str], ...]  # (subject, body); body may use {name} and {order}
    followups: tuple[str, ...]
    thanks: tuple[str, ...]
    replies: tuple[str, ...]  # what an agent answers (the demo's history)
    signoff: str


EN = Language(
    code="en", timezones=("America/New_York", "Europe/London", "America/Los_Angeles"),
    domains=("mail.example", "inbox.example", "acme-corp.example"), charset="us-ascii",
    phone_prefix="+1 202 555 01",
    names=(("Ann Lee", "ann.lee"), ("Mark Johnson", "mark.johnson"), ("Priya Patel", "priya.patel"),
           ("Tom Becker", "tom.becker"), ("Sarah O'Neill", "sarah.oneill"), ("James Carter", "jcarter"),
           ("Emily Nguyen", "emily.nguyen"), ("David Kim", "dkim"), ("Laura Smith", "laura.smith"),
           ("Michael Brown", "mbrown"), ("Grace Okafor", "grace.okafor"), ("Lucas Silva", "lucas.silva")),
    issues=(
        ("Refund for order {order}", "Hi,\n\nI returned order {order} two weeks ago but I still have not "
         "received my refund. The tracking number shows it was delivered to your warehouse on Monday.\n\n"
         "Could you check what is going on?"),
        ("Can't log in after password reset", "Hello,\n\nI reset my password this morning and now the app "
         "says \"invalid credentials\" every time. I tried on my phone and on my laptop.\n\nMy username is "
         "the email address I'm writing from."),
        ("Invoice shows the wrong VAT number", "Hi there,\n\nthe invoice for order {order} has our old VAT "
         "number on it. Our accountant needs a corrected copy before the end of the month.\n\nThanks"),
        ("Package arrived damaged", "Hello,\n\nthe box for order {order} arrived crushed and the lid of the "
         "kettle is cracked. I attached a photo. I'd prefer a replacement rather than a refund."),
        ("Feature request: dark mode", "Hi team,\n\nlove the product. Any plans for a dark mode in the web "
         "app? My eyes would thank you at 2am."),
        ("Charged twice this month", "Hi,\n\nmy card was charged twice for the monthly plan (see order "
         "{order}). Please refund the duplicate charge."),
        ("Export to CSV is empty", "Hello,\n\nwhen I export my contacts to CSV the file only has the header "
         "row. It worked last week. Browser is Firefox 132."),
        ("Change delivery address for {order}", "Hi,\n\nI moved last weekend. Can you still change the "
         "delivery address for order {order}? New address: 12 Harbour Lane, Bristol."),
    ),
    followups=("Any update on this?", "Just following up, I still haven't heard back.",
               "Sorry, one more thing: the order number is {order}.",
               "I tried again today and it's still the same."),
    thanks=("Thanks, that worked!", "Perfect, thank you for the quick help.", "Got it, thanks a lot."),
    replies=("Hi {name},\n\nthanks for reaching out. I've looked into order {order} and passed it on to our "
             "warehouse team; you'll hear from us within two working days.",
             "Hi {name},\n\nsorry about that! I've reset your account; please try logging in again and let me "
             "know if it still fails.",
             "Hi {name},\n\nthe corrected document is on its way. Is there anything else I can help with?"),
    signoff="Best regards,\n{name}",
)

HU = Language(
    code="hu", timezones=("Europe/Budapest",), domains=("posta.example", "levelezo.example"),
    charset="iso-8859-2", phone_prefix="+36 1 555 01",
    names=(("Kovács Bence", "kovacs.bence"), ("Szabó Eszter", "szabo.eszter"), ("Tóth Áron", "toth.aron"),
           ("Nagy Zsófia", "nagy.zsofia"), ("Horváth Gergő", "horvath.gergo"), ("Varga Réka", "varga.reka"),
           ("Kiss Dániel", "kiss.daniel"), ("Molnár Júlia", "molnar.julia"), ("Farkas Ödön", "farkas.odon"),
           ("Balogh Tünde", "balogh.tunde")),
    issues=(
        ("Visszatérítés a(z) {order} rendelésre", "Tisztelt Ügyfélszolgálat!\n\nKét hete visszaküldtem a(z) "
         "{order} számú rendelést, de a visszatérítés még nem érkezett meg a számlámra.\n\nKérem, nézzék meg, "
         "mi történt."),
        ("Nem tudok bejelentkezni", "Jó napot!\n\nA jelszóváltoztatás óta nem tudok belépni, mindig hibás "
         "jelszót ír ki. Mobilon és számítógépen is próbáltam."),
        ("Hibás számla", "Üdvözlöm!\n\nA(z) {order} rendelés számláján rossz az adószámunk. A könyvelőnknek "
         "a hónap végéig szüksége van a javított példányra."),
        ("Sérült csomag érkezett", "Jó napot kívánok!\n\nA(z) {order} csomag összetörve érkezett, a "
         "vízforraló teteje megrepedt. Cserét szeretnék kérni."),
        ("Szállítási cím módosítása", "Szia!\n\nMódosítható még a(z) {order} rendelés szállítási címe? Az "
         "új cím: 1051 Budapest, Árpád fejedelem útja 12."),
        ("Kétszer vonták le a díjat", "Tisztelt Ügyfélszolgálat!\n\nEbben a hónapban kétszer terhelték meg "
         "a kártyámat az előfizetésért. Kérem a duplikált összeg visszautalását."),
    ),
    followups=("Van már valami fejlemény?", "Még mindig nem kaptam választ, kérem, segítsenek.",
               "Elnézést, a rendelésszám: {order}."),
    thanks=("Köszönöm szépen, működik!", "Nagyon köszönöm a gyors segítséget.", "Rendben, köszönöm."),
    replies=("Kedves {name}!\n\nKöszönjük a levelét. A(z) {order} rendelést továbbítottuk a raktárnak, két "
             "munkanapon belül jelentkezünk.",
             "Kedves {name}!\n\nElnézést a kellemetlenségért. Visszaállítottuk a fiókját, kérjük, próbáljon "
             "újra bejelentkezni."),
    signoff="Üdvözlettel:\n{name}",
)

ZH = Language(
    code="zh", timezones=("Asia/Shanghai", "Asia/Taipei"), domains=("qq.example", "163.example"),
    charset="gb18030", phone_prefix="+86 10 5555 01",
    names=(("王伟", "wang.wei"), ("李娜", "li.na"), ("张敏", "zhang.min"), ("刘洋", "liu.yang"),
           ("陈静", "chen.jing"), ("杨磊", "yang.lei"), ("黄丽", "huang.li"), ("赵强", "zhao.qiang")),
    issues=(
        ("订单 {order} 退款问题", "您好，\n\n我两周前退回了订单 {order}，但是到现在还没有收到退款。物流显示周一已经"
         "送到你们的仓库。\n\n请帮我查一下，谢谢。"),
        ("无法登录账户", "你好，\n\n我今天早上重置了密码，现在每次登录都提示“密码错误”。手机和电脑都试过了。"),
        ("发票信息有误", "您好，\n\n订单 {order} 的发票上税号不对，财务月底前需要更正后的发票。"),
        ("收到的商品有损坏", "你好，\n\n订单 {order} 的包裹外箱被压坏了，水壶盖子有裂缝。希望换货，不要退款。"),
        ("修改收货地址", "您好，\n\n订单 {order} 还能修改收货地址吗？新地址：上海市浦东新区世纪大道 100 号。"),
        ("本月被重复扣费", "你好，\n\n这个月的会员费被扣了两次，请把重复的款项退给我。"),
    ),
    followups=("请问有进展吗？", "还没有收到回复，麻烦尽快处理。", "补充一下，订单号是 {order}。"),
    thanks=("谢谢，问题解决了！", "非常感谢你们的帮助。", "好的，谢谢。"),
    replies=("{name}您好，\n\n感谢您的来信。我们已将订单 {order} 转交仓库处理，两个工作日内会给您答复。",
             "{name}您好，\n\n非常抱歉给您带来不便。您的账户已重置，请重新登录试试。"),
    signoff="此致\n{name}",
)

UZ = Language(
    code="uz", timezones=("Asia/Tashkent",), domains=("pochta.example", "mail-uz.example"),
    charset="utf-8", phone_prefix="+998 71 555 01",
    names=(("Dilshod Karimov", "dilshod.karimov"), ("Nodira Yusupova", "nodira.yusupova"),
           ("Jasur Rahimov", "jasur.rahimov"), ("Malika Tosheva", "malika.tosheva"),
           ("Otabek Ergashev", "otabek.ergashev"), ("Gulnora Saidova", "gulnora.saidova"),
           ("Sardor Aliyev", "sardor.aliyev"), ("Zarina Qodirova", "zarina.qodirova")),
    issues=(
        ("{order} buyurtma uchun pulni qaytarish", "Assalomu alaykum!\n\nIkki hafta oldin {order} buyurtmani "
         "qaytardim, lekin pul hali ham kartamga tushmadi. Iltimos, tekshirib bering."),
        ("Tizimga kira olmayapman", "Salom!\n\nParolni o‘zgartirganimdan beri tizimga kira olmayapman, har "
         "safar \"parol noto‘g‘ri\" deb chiqyapti."),
        ("Hisob-fakturada xato", "Assalomu alaykum!\n\n{order} buyurtma hisob-fakturasida soliq raqamimiz "
         "noto‘g‘ri ko‘rsatilgan. Tuzatilgan nusxasini yuboring, iltimos."),
        ("Yetkazib berish manzilini o‘zgartirish", "Salom!\n\n{order} buyurtmaning manzilini o‘zgartirsa "
         "bo‘ladimi? Yangi manzil: Toshkent, Amir Temur ko‘chasi 15."),
        ("Ikki marta pul yechildi", "Assalomu alaykum!\n\nBu oy obuna uchun kartamdan ikki marta pul "
         "yechildi. Ortiqcha summani qaytarib bering."),
    ),
    followups=("Yangilik bormi?", "Hali javob olmadim, iltimos yordam bering.", "Buyurtma raqami: {order}."),
    thanks=("Rahmat, hammasi ishladi!", "Tez yordamingiz uchun katta rahmat.", "Tushunarli, rahmat."),
    replies=("Hurmatli {name},\n\nXatingiz uchun rahmat. {order} buyurtmani omborga yubordik, ikki ish kuni "
             "ichida javob beramiz.",),
    signoff="Hurmat bilan,\n{name}",
)

FA = Language(
    code="fa", timezones=("Asia/Tehran",), domains=("chmail.example", "post-ir.example"),
    charset="windows-1256", phone_prefix="+98 21 5555 01",
    names=(("علی رضایی", "ali.rezaei"), ("مریم احمدی", "maryam.ahmadi"), ("رضا محمدی", "reza.mohammadi"),
           ("زهرا حسینی", "zahra.hosseini"), ("حسین کریمی", "hossein.karimi"), ("فاطمه موسوی", "fatemeh.mousavi"),
           ("امیر جعفری", "amir.jafari"), ("سارا نوری", "sara.nouri")),
    issues=(
        ("بازپرداخت سفارش {order}", "سلام،\n\nدو هفته پیش سفارش {order} را مرجوع کردم ولی هنوز مبلغ به حسابم "
         "برنگشته است. لطفاً پیگیری کنید.\n\nبا تشکر"),
        ("نمی‌توانم وارد حساب شوم", "سلام،\n\nبعد از تغییر رمز عبور، هر بار پیام «رمز اشتباه است» می‌بینم. "
         "با موبایل و لپ‌تاپ هم امتحان کردم."),
        ("فاکتور اشتباه است", "سلام،\n\nشماره مالیاتی روی فاکتور سفارش {order} اشتباه است. لطفاً نسخه اصلاح‌شده "
         "را بفرستید."),
        ("بسته آسیب دیده رسید", "سلام،\n\nبسته سفارش {order} له شده رسید و درِ کتری ترک خورده است. تعویض "
         "می‌خواهم."),
        ("دو بار از حسابم کسر شد", "سلام،\n\nاین ماه هزینه اشتراک دو بار از کارتم کسر شده. لطفاً مبلغ اضافه را "
         "برگردانید."),
    ),
    followups=("خبری نشد؟", "هنوز پاسخی دریافت نکرده‌ام، لطفاً کمک کنید.", "شماره سفارش: {order}"),
    thanks=("ممنون، مشکل حل شد!", "خیلی ممنون از کمک سریع شما.", "باشه، متشکرم."),
    replies=("{name} عزیز،\n\nاز پیام شما سپاسگزاریم. سفارش {order} را به انبار ارجاع دادیم و ظرف دو روز کاری "
             "پاسخ می‌دهیم.",),
    signoff="با احترام،\n{name}",
)

LANGUAGES: tuple[Language, ...] = (EN, HU, ZH, UZ, FA)
#: How often each language's customers write (English most, as in a typical EU shop).
LANGUAGE_WEIGHTS: tuple[int, ...] = (40, 20, 15, 12, 13)

TAGS = ("billing", "refund", "shipping", "login", "bug", "feature-request", "vip", "invoice")

_REFUND, _LOGIN, _INVOICE, _SHIPPING = ("refund", "billing"), ("login", "bug"), ("invoice", "billing"), ("shipping",)
_TWICE = ("billing", "refund")

#: Tags that fit each language's issue templates, index by index.
THEMES: dict[str, tuple[tuple[str, ...], ...]] = {
    "en": (_REFUND, _LOGIN, _INVOICE, _SHIPPING, ("feature-request",), _TWICE, ("bug",), _SHIPPING),
    "hu": (_REFUND, _LOGIN, _INVOICE, _SHIPPING, _SHIPPING, _TWICE),
    "zh": (_REFUND, _LOGIN, _INVOICE, _SHIPPING, _SHIPPING, _TWICE),
    "uz": (_REFUND, _LOGIN, _INVOICE, _SHIPPING, _TWICE),
    "fa": (_REFUND, _LOGIN, _INVOICE, _SHIPPING, _TWICE),
}
#: The issue index that is "the parcel arrived damaged" (the customer attaches a photo).
DAMAGED = 3

NOTES = (
    "Checked the payment provider: the refund was issued on our side, waiting for the bank.",
    "Customer is on the annual plan; be generous.",
    "Warehouse says the parcel is back in stock. Replacement can go out tomorrow.",
    "Ügyfél telefonon is kereste, visszahívást kért délután.",
    "Looks like the SSO bug from last week (see #internal-42).",
    "已与仓库确认，换货明天发出。",
    "Escalated to finance, waiting for approval.",
)

CALL_NOTES = (
    "Called about the refund; explained the bank delay (3-5 days).",
    "Customer called, could not log in; walked them through the reset.",
    "Visszahívás: a csere holnap indul.",
    "客户来电询问退款进度。",
    "تماس مشتری درباره فاکتور؛ نسخه اصلاح‌شده ارسال شد.",
    "Mijoz qo‘ng‘iroq qildi: buyurtma holatini so‘radi.",
)

#: Untrusted text the console must show inert (principle 7): markup, escapes, bidi tricks.
HOSTILE = (
    ("[bold red]URGENT[/bold red] refund NOW [link=http://evil.example]click[/link]",
     "Please [blink]refund[/blink] me. This is not markup, it is just text.", "Mallory [b]Admin[/b]"),
    ("Invoice \x1b[31mOVERDUE\x1b[0m \x1b]52;c;cm0gLXJmIH4=\x07 pay today",
     "Terminal tricks: \x1b[2J\x1b[Hcleared? and an OSC 52 clipboard write \x1b]52;c;ZXZpbA==\x07 here.",
     "Eve \x1b[7mReverse\x1b[0m"),
    ("Your file invoice\u202egpj.exe is ready",
     "Open the attachment invoice\u202egpj.exe (a bidi override makes it look like a .jpg).",
     "Trudy \u202eresU\u202c"),
)

AGENTS = (
    ("alice", "Alice Andersen", "alice@omnidesk.example", ("billing", "en", "hu")),
    ("bob", "Bob Brennan", "bob@omnidesk.example", ("shipping", "en", "fa")),
    ("chen", "Chen Yu", "chen@omnidesk.example", ("zh", "uz", "login")),
)

#: What customers write on Slack and Telegram: short lines, no greeting or signature, as in chat.
CHAT_LINES: dict[str, tuple[str, ...]] = {
    "en": ("hey, is the export bug fixed yet?", "our invoice still shows the old VAT number :(",
           "can someone look at order A-20417? tracking hasn't moved in 4 days"),
    "hu": ("Szia! A csomagom még mindig nem érkezett meg, mikor jön?", "Újra kétszer terheltétek a kártyámat 😕",
           "Köszönöm, most már működik a belépés!", "Ugyanarról írok, amiről e-mailben is: van már hír?"),
    "zh": ("你好，我的退款什么时候到账？", "订单 A-30982 的发票抬头写错了，可以重开吗？", "登录一直提示密码错误，怎么办？"),
    "fa": ("سلام، سفارش من هنوز نرسیده است.", "فاکتور من اشتباه است، لطفاً اصلاح کنید.",
           "ممنون، مشکل حل شد!"),
}

#: What the four-channel customer writes after Telegram: by SMS, on WhatsApp, on Mastodon (Hungarian).
MOVER_LINES = ("Most SMS-ben írok, mert nincs netem. A rendelésszám ugyanaz, mint az e-mailben.",
               "Átváltottam WhatsAppra, itt gyorsabban látom a választ. Mastodonon is megtaláltok. 🙂",
               "Itt is írok, hátha így hamarabb látjátok: még mindig várom a csomagot, és holnap utazom.")
