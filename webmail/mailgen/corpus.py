"""Names, subjects and texts the generated mail is made of.

Every line here was written for this generator. The Japanese text keeps to
JIS X 0208 so that it encodes in ISO-2022-JP, Shift_JIS and EUC-JP alike.
"""

from __future__ import annotations

# People ---------------------------------------------------------------

EN_FIRST_NAMES = (
    "Alice", "Bruno", "Chloe", "Dmitri", "Elena", "Farid", "Grace", "Hector",
    "Ines", "Jonah", "Kira", "Lars", "Maya", "Nikhil", "Olivia", "Pavel",
    "Quinn", "Rosa", "Samir", "Tess", "Umar", "Vera", "Wendell", "Ximena",
    "Yusuf", "Zoe", "Amara", "Basil", "Celia", "Desmond", "Esther", "Felix",
)  # fmt: skip

EN_LAST_NAMES = (
    "Abernathy", "Baptiste", "Castellano", "Drummond", "Eriksen", "Fairweather",
    "Galloway", "Hollis", "Ingram", "Jaramillo", "Kowalczyk", "Lindqvist",
    "Mbeki", "Nakashima", "Okafor", "Pemberton", "Quintero", "Rasmussen",
    "Sandoval", "Thorne", "Underwood", "Varga", "Whitcombe", "Yilmaz",
)  # fmt: skip

EN_DOMAINS = (
    "example.com", "example.net", "example.org", "mail.example.com",
    "corp.example.net", "studio.example.org", "lists.example.com",
)  # fmt: skip

# (kanji, romaji) pairs: the romaji makes the mailbox part of the address.
JA_FAMILY_NAMES = (
    ("佐藤", "sato"), ("鈴木", "suzuki"), ("高橋", "takahashi"), ("田中", "tanaka"),
    ("伊藤", "ito"), ("渡辺", "watanabe"), ("山本", "yamamoto"), ("中村", "nakamura"),
    ("小林", "kobayashi"), ("加藤", "kato"), ("吉田", "yoshida"), ("山田", "yamada"),
    ("松本", "matsumoto"), ("井上", "inoue"), ("木村", "kimura"), ("林", "hayashi"),
    ("清水", "shimizu"), ("森", "mori"), ("池田", "ikeda"), ("橋本", "hashimoto"),
)  # fmt: skip

JA_GIVEN_NAMES = (
    ("陽子", "yoko"), ("健太", "kenta"), ("美咲", "misaki"), ("大輔", "daisuke"),
    ("恵", "megumi"), ("翔", "sho"), ("直美", "naomi"), ("拓也", "takuya"),
    ("由紀", "yuki"), ("誠", "makoto"), ("彩", "aya"), ("浩二", "koji"),
    ("千尋", "chihiro"), ("哲也", "tetsuya"), ("真理子", "mariko"), ("亮", "ryo"),
)  # fmt: skip

JA_DOMAINS = ("example.jp", "example.co.jp", "example.ne.jp", "mail.example.jp")

MAILERS = (
    "Postbird 4.2.1", "Kumo Mail 3.8 (Windows)", "Larkspur/2.0", "Tegami 7.1",
    "Quillmail 12.3 (Macintosh)", "Harbor Webmail", "Sakura Mailer 5.0",
)  # fmt: skip

# Subjects -------------------------------------------------------------

EN_SUBJECTS = (
    "Quarterly numbers for the east region",
    "Can we move Thursday's review?",
    "Notes from the planning session",
    "Draft proposal for the library renovation",
    "Your thoughts on the new logo?",
    "Lunch next week",
    "Budget spreadsheet, second pass",
    "Follow-up on the vendor call",
    "Conference travel: hotel options",
    "Minutes of the board meeting",
    "Question about the onboarding checklist",
    "Photos from the weekend hike",
    "Server maintenance window on Saturday",
    "Invoice 2291 is overdue",
    "Reminder: team retrospective",
    "Kitchen remodel estimate",
    "Changes to the release schedule",
    "Feedback on chapter three",
    "Garden club volunteer roster",
    "The printer on floor two is jammed again",
    "Bike commute challenge results",
    "Interview loop for the data role",
    "Contract renewal terms",
    "Welcome aboard!",
    "Parking permits for next year",
    "Request for comments: API versioning",
    "Shipping delay on order 5580",
    "Updated floor plan",
    "Choir rehearsal moved to Wednesday",
    "Recipe you asked about",
    "Sprint demo recording",
    "Tax documents for the accountant",
    "Storage costs are creeping up",
    "Catering for the launch party",
    "A small favour",
)

JA_SUBJECTS = (
    "来週の打ち合わせについて",
    "見積書送付のご案内",
    "会議資料の共有",
    "出張報告書の提出について",
    "新年会のお知らせ",
    "システム更新作業のお知らせ",
    "ご注文内容の確認",
    "請求書の再発行について",
    "プロジェクト進捗のご報告",
    "面談日程のご相談",
    "資料送付のお願い",
    "社内研修の参加者募集",
    "お花見の場所取りについて",
    "契約更新のご案内",
    "先日はありがとうございました",
    "議事録を送ります",
    "旅行の写真を送ります",
    "年末年始の営業日について",
    "新製品発表会のご招待",
    "引っ越しのご挨拶",
    "京都旅行の計画",
    "温泉宿の予約確認",
    "台風接近に伴う対応について",
    "お弁当の注文締め切り",
)

NEWSLETTER_BRANDS = (
    ("The Weekly Compost", "news@compost.example.net"),
    ("Trailhead Outfitters", "deals@trailhead.example.com"),
    ("Byte Sized Digest", "digest@bytesized.example.org"),
    ("City Library Events", "events@library.example.org"),
    ("Pixel Foundry", "hello@pixelfoundry.example.com"),
    ("Morning Brew Roasters", "beans@roasters.example.net"),
)

NEWSLETTER_HEADLINES = (
    "Five ways to keep basil alive through winter",
    "Our spring collection has arrived",
    "What changed in the latest compiler release",
    "Storytime returns on Saturday mornings",
    "Design tokens, explained without jargon",
    "A single-origin bean from the highlands",
    "Members get free shipping this week",
    "Reader question: how often should I repot?",
    "Behind the scenes at the print shop",
    "Ten trails that are quiet in the off season",
)

NEWSLETTER_BLURBS = (
    "We tested every method our readers sent in, and two of them surprised us.",
    "Lighter fabrics, deeper pockets, and colours named after mountain lakes.",
    "The headline feature is faster builds, but the small fixes matter more.",
    "Bring a cushion and a friend; the reading corner fills up quickly.",
    "A short guide for teams that keep arguing about shades of grey.",
    "Notes of dried cherry and cocoa, roasted on Tuesday, shipped on Wednesday.",
    "No code needed at checkout. The offer ends Sunday at midnight.",
    "Roots circling the pot are the sign. Here is what to do next.",
)

RECEIPT_SHOPS = (
    ("Corner Hardware", "receipts@hardware.example.com"),
    ("Fern & Fig Grocers", "orders@fernfig.example.net"),
    ("Skyline Rail", "tickets@skyline.example.org"),
    ("Nimbus Cloud Hosting", "billing@nimbus.example.com"),
)

RECEIPT_ITEMS = (
    ("Box of wood screws", "7.40"),
    ("Organic oat milk", "3.15"),
    ("Return ticket, zone 2", "12.80"),
    ("Virtual server, monthly", "24.00"),
    ("Paint roller set", "18.25"),
    ("Sourdough loaf", "5.60"),
    ("Seat reservation", "4.00"),
    ("Backup storage, 500 GB", "6.50"),
)

JUNK_SUBJECTS = (
    "You have WON a luxury cruise!!!",
    "Final notice: your account will be suspended",
    "Miracle supplement doctors don't want you to know about",
    "Re: your invoice (urgent)",
    "Claim your unclaimed package now",
    "Work from home and earn $$$ today",
)

JUNK_LINES = (
    "Dear valued customer, act now to secure your exclusive reward.",
    "Click the button below within 24 hours or lose access forever.",
    "This is not spam. You opted in to receive amazing offers.",
    "Limited stock! Only three left at this incredible price.",
)

# Bodies ---------------------------------------------------------------

EN_GREETINGS = ("Hi {name},", "Hello {name},", "Dear {name},", "{name},", "Hey {name}!")

EN_SIGNOFFS = (
    "Thanks,",
    "Best,",
    "Cheers,",
    "Kind regards,",
    "Talk soon,",
    "All the best,",
)

EN_PARAGRAPHS = (
    "I went through the figures you sent this morning and most of them line "
    "up with what finance reported last month. The gap in the east region "
    "looks like a timing issue rather than a real drop, but I would like a "
    "second pair of eyes before we present it.",
    "Could we push the review to Friday afternoon? Two people on the team are "
    "out on Thursday and I would rather have everyone in the room when we "
    "walk through the open questions.",
    "Attached are my notes from yesterday. The short version: we agreed to "
    "ship the smaller version first, keep the import tool out of scope, and "
    "revisit the pricing page once we have real usage numbers.",
    "The contractor came by to measure the reading room. Their estimate "
    "covers new shelving, better lighting and a ramp at the side entrance, "
    "and they think the work fits inside the summer closure.",
    "I like the second logo much better than the first. The rounded letters "
    "feel friendlier, although the green might be hard to read on a dark "
    "background. Could the designer try a slightly deeper shade?",
    "Are you free for lunch on Tuesday or Wednesday? There is a new noodle "
    "place near the station that a few people have recommended, and I owe "
    "you one after last time.",
    "I updated the budget sheet with the new travel estimates. The totals "
    "are on the summary tab; the line items that changed are highlighted in "
    "yellow so you can skip the rest.",
    "The vendor confirmed they can deliver in six weeks instead of eight if "
    "we sign by the end of the month. They also offered a small discount "
    "for paying the deposit up front.",
    "There are three hotels within walking distance of the venue. The "
    "cheapest one has mixed reviews about noise; the other two are similar "
    "in price and both include breakfast.",
    "A quick reminder that the retrospective is at four today. Please add "
    "your notes to the shared board beforehand so we can spend the time on "
    "discussion rather than on writing.",
    "We had a wonderful time on the ridge trail. The fog lifted just as we "
    "reached the top, and the view over the valley was worth every step. "
    "I will send the good photos once I have sorted them.",
    "The maintenance window starts at 22:00 on Saturday and should last "
    "about two hours. Mail and the file shares will be unavailable during "
    "that time; everything else stays up.",
    "According to our records the invoice from March is still open. If it "
    "has already been paid, please ignore this message and accept our "
    "thanks; otherwise we would appreciate payment within ten days.",
    "I read chapter three twice. The opening scene is strong, but the middle "
    "section drags a little, mostly because the flashback repeats what the "
    "reader already knows from chapter one.",
    "We still need two volunteers for the Saturday morning shift at the "
    "community garden. Tasks are mostly weeding and watering, and there "
    "will be coffee and pastries.",
    "The printer on the second floor has been jamming all week. I have "
    "opened a ticket with facilities, but in the meantime the one by the "
    "kitchen works fine.",
    "Congratulations to the design team, who cycled a combined 1,240 "
    "kilometres this month and won the commute challenge by a comfortable "
    "margin. The trophy is on its way to their desks.",
    "The candidate has a strong background in statistics and a portfolio of "
    "public dashboards. I suggest we add a short pairing session to the "
    "loop so we can see how she approaches messy data.",
    "The renewal keeps the same price for two years but adds a clause about "
    "data retention that legal should look at. I have marked the changed "
    "paragraphs in the attached copy.",
    "Welcome to the team! Your laptop is ready for pickup at the front desk, "
    "and your first week is mostly meetings with the people you will work "
    "with most closely. Do not hesitate to ask questions.",
    "I would like to propose that we version the API through the URL rather "
    "than a header. It is easier to see in logs and easier for new users to "
    "understand, even if it is a little less elegant.",
    "Your order left our warehouse later than planned because of a shortage "
    "of packing material. It should now arrive within three working days, "
    "and we have refunded the shipping cost.",
    "Rehearsal moves to Wednesday this week because the hall is booked for "
    "an election count on Tuesday. Same time, same room, and please bring "
    "the new scores.",
    "Here is the soup recipe: soften two onions in butter, add a kilo of "
    "roasted squash, a litre of stock and a pinch of nutmeg, simmer for "
    "twenty minutes and blend. A spoon of crème fraîche on top helps.",
    "The recording of the sprint demo is in the team folder. Skip to minute "
    "twelve for the part about offline mode; the rest is mostly bug fixes.",
    "Storage costs went up eleven percent last quarter, mostly from old "
    "backups nobody has touched in years. I suggest a retention rule that "
    "keeps ninety days of dailies and a year of monthlies.",
    "The caterer can do a buffet for eighty people, including vegetarian and "
    "gluten-free options. They need the final headcount a week ahead and a "
    "deposit of 500 € to hold the date.",
    "Could you water the plants while I am away next week? The big fern "
    "needs water every other day; the cactus can be ignored completely, "
    "which is why it is still alive.",
    "I think we are close. If you can fix the two failing tests and update "
    "the changelog, I am happy to approve it today and let it ride with the "
    "next release.",
    "Thanks for the quick turnaround on this. Everything looks right to me, "
    "and I have forwarded it to the client with a short summary.",
)

EN_REPLY_OPENERS = (
    "Sounds good to me.",
    "Thanks, that helps a lot.",
    "Good catch, I had missed that.",
    "Agreed on all points except the last one.",
    "Let me check with the team and get back to you.",
    "Friday works for me.",
    "I have attached a revised version.",
)

JA_GREETINGS = (
    "{name}様\n\nいつもお世話になっております。",
    "{name}さん\n\nお疲れさまです。",
    "{name}様\n\n平素より大変お世話になっております。",
    "{name}さん\n\nこんにちは。",
)

JA_SIGNOFFS = (
    "よろしくお願いいたします。",
    "引き続きよろしくお願いします。",
    "ご確認のほど、よろしくお願い申し上げます。",
    "取り急ぎご連絡まで。",
)

JA_PARAGRAPHS = (
    "来週の打ち合わせですが、火曜日の午後二時からでいかがでしょうか。"
    "会議室は三階の第二会議室を予約しております。",
    "ご依頼いただいた見積書を添付いたしましたので、ご確認ください。"
    "納期につきましては、ご発注から約三週間を予定しております。",
    "先日の会議で使用した資料を共有フォルダに置きました。"
    "修正が必要な箇所があれば、今週中にお知らせください。",
    "出張報告書の提出期限は月末となっております。"
    "交通費の領収書も忘れずに添付してください。",
    "今年の新年会は一月十五日の金曜日、駅前の和食店で開催します。"
    "参加の可否を今週中にご返信ください。",
    "システム更新作業のため、土曜日の夜十時から翌朝六時まで"
    "社内システムがご利用いただけません。ご不便をおかけします。",
    "ご注文いただいた商品は本日発送いたしました。"
    "お届けまで二日から三日ほどお待ちください。",
    "プロジェクトの進捗についてご報告いたします。"
    "設計作業は予定通り完了し、現在は試験工程に入っております。",
    "面談の日程ですが、来週の水曜日か木曜日の午前中であれば"
    "対応可能です。ご都合のよい日時をお知らせいただけますか。",
    "先日はお忙しいところ、お時間をいただきありがとうございました。"
    "いただいたご意見は社内で検討し、改めてご連絡いたします。",
    "週末に家族で京都へ行ってきました。紅葉がちょうど見頃で、"
    "どのお寺も大勢の観光客でにぎわっていました。",
    "温泉宿の予約が取れました。一泊二食付きで、"
    "部屋からは海が見えるそうです。楽しみですね。",
    "台風が接近しているため、明日は在宅勤務を推奨します。"
    "出社が必要な方は、上長に事前に相談してください。",
    "お弁当の注文は水曜日の正午で締め切ります。"
    "追加の注文がある方は早めに総務までご連絡ください。",
    "契約更新の時期が近づいてまいりましたので、ご案内申し上げます。"
    "内容に変更はございませんが、念のためご確認をお願いいたします。",
    "議事録を添付いたします。次回の会議までに、"
    "各自担当の課題について進捗をまとめておいてください。",
    "引っ越しのため、来月から住所が変わります。新しい住所は改めてお知らせいたします。",
    "新製品の発表会を十月二十日に開催いたします。"
    "ご多忙中とは存じますが、ぜひご来場ください。",
    "社内研修の参加者を募集しています。今回のテーマは"
    "情報セキュリティの基礎で、所要時間は約二時間です。",
    "お花見の場所取りは、朝七時に公園の東口に集合でお願いします。"
    "敷物と飲み物は幹事が用意します。",
)

JA_REPLY_OPENERS = (
    "ご連絡ありがとうございます。承知いたしました。",
    "ご確認いただきありがとうございます。",
    "了解しました。その日程で問題ありません。",
    "資料を拝見しました。特に問題はないと思います。",
)

JA_FOLDER_NAME = "旅行"

ATTACHMENT_NAMES_EN = {
    "pdf": ("report-q3.pdf", "minutes.pdf", "floor-plan.pdf", "estimate.pdf"),
    "png": ("screenshot.png", "chart.png", "diagram.png"),
    "jpeg": ("IMG_2041.jpg", "summit.jpg", "whiteboard.jpg"),
    "docx": ("proposal.docx", "chapter-3.docx", "contract-draft.docx"),
    "zip": ("assets.zip", "exports.zip", "photos.zip"),
}

ATTACHMENT_NAMES_JA = {
    "pdf": ("見積書.pdf", "議事録.pdf", "出張報告書.pdf"),
    "png": ("画面写真.png", "構成図.png"),
    "jpeg": ("京都の紅葉.jpg", "集合写真.jpg"),
    "docx": ("企画書.docx", "契約書案.docx"),
    "zip": ("資料一式.zip",),
}
