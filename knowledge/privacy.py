"""Masking personal data out of every text that leaves kpibot.

:func:`mask_personal_data` replaces resident ID numbers, mobile and landline numbers, e-mail
addresses, bank card numbers and street addresses with a short Chinese placeholder. It is pure
(no database, no I/O), idempotent, and fast enough to run on every outgoing message.

Hand-written on purpose: the libraries that find personal data (Presidio, jionlp, phonenumbers)
either need language models or dictionaries loaded at start-up, or only recognise numbers
written the standard way. What people really type into a ledger note (full-width digits,
Chinese digits, zero-width characters, dots or em dashes between digit groups, 甲88号) is what
must be caught, so the text is first folded into a *skeleton* that spells every one of those
the same way, the patterns run on the skeleton, and what they find is replaced in the
original text.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata

ID_MASK = "[证件号已隐去]"
PHONE_MASK = "[电话已隐去]"
EMAIL_MASK = "[邮箱已隐去]"
CARD_MASK = "[卡号已隐去]"
ADDRESS_MASK = "[地址已隐去]"

# ---------------------------------------------------------------- the skeleton

# One character for one character, so positions in the skeleton are positions in the text:
# full-width digits, letters and the signs numbers and addresses use (not ，or ：, which
# separate clauses, unlike 1,234 or 09:00), every dash to "-", every space to " ",
# middle dots to ".", the multiplication sign some type for the X of an ID number.
_FULL_WIDTH = [chr(cp) for cp in range(0xFF10, 0xFF1A)]  # ０-９
_FULL_WIDTH += [chr(cp) for cp in range(0xFF21, 0xFF3B)]  # Ａ-Ｚ
_FULL_WIDTH += [chr(cp) for cp in range(0xFF41, 0xFF5B)]  # ａ-ｚ
_FULL_WIDTH += list("＋－．（）＠＿％＃［］")
_ONE_FOR_ONE: dict[int, str] = {ord(c): chr(ord(c) - 0xFEE0) for c in _FULL_WIDTH}
_ONE_FOR_ONE.update({ord(c): "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63"})
_ONE_FOR_ONE.update({ord(c): " " for c in "\t\u00a0\u2002\u2003\u2004\u2005\u2006\u2007"})
_ONE_FOR_ONE.update({ord(c): " " for c in "\u2008\u2009\u200a\u202f\u205f\u3000"})
_ONE_FOR_ONE.update({ord(c): "." for c in "\u00b7\u2022\u2027\u30fb\uff65"})
_ONE_FOR_ONE[ord("\u00d7")] = "X"

_CHINESE_DIGITS = "〇零一二三四五六七八九幺壹贰叁肆伍陆柒捌玖"
_CN_TO_ASCII = str.maketrans("〇零一二三四五六七八九幺壹贰叁肆伍陆柒捌玖", "001234567891123456789")
# Chinese digits are read as digits only in a run of seven or more, so that a phone number
# said digit by digit (一三八…) is caught while 第一季度 or 二〇二六年 stays as written.
_CHINESE_DIGIT_RUN = re.compile(
    rf"[0-9{_CHINESE_DIGITS}](?:[ \-.]{{0,3}}[0-9{_CHINESE_DIGITS}]){{6,}}"
)
_HAS_CHINESE_DIGIT = re.compile(rf"[{_CHINESE_DIGITS}]")
# Decimal digits of other scripts (Arabic-Indic, Devanagari, …): \d matches them, [0-9] not.
_OTHER_SCRIPT_DIGIT = re.compile(r"(?![0-9])\d")
# Format characters (zero-width space and joiners, soft hyphen, BOM, bidi marks) are invisible:
# they are dropped from the skeleton, and an index map leads back to the text.
_INVISIBLE = re.compile(
    "[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]"
)


def _skeleton(text: str) -> tuple[str, list[int] | None]:
    """The text spelled canonically, and for each skeleton position its position in the text
    (None when they are the same)."""
    plain = text.translate(_ONE_FOR_ONE)
    if _OTHER_SCRIPT_DIGIT.search(plain):
        plain = _OTHER_SCRIPT_DIGIT.sub(lambda m: str(unicodedata.decimal(m.group())), plain)
    if _HAS_CHINESE_DIGIT.search(plain):
        plain = _CHINESE_DIGIT_RUN.sub(_chinese_run_as_digits, plain)
    if not _INVISIBLE.search(plain):
        return plain, None
    positions = [i for i, char in enumerate(plain) if not _INVISIBLE.match(char)]
    return "".join(plain[i] for i in positions), positions


def _chinese_run_as_digits(match: re.Match[str]) -> str:
    return match.group().translate(_CN_TO_ASCII)


# ---------------------------------------------------------------- numbers

# Between two digits of a number people put nothing, spaces, dashes or dots (one to three of
# them: "138 - 1234"); zero-width characters are already gone from the skeleton.
_S = r"[ \-.]{0,3}"
_S1 = r"[ \-.]{1,3}"


def _spaced(*atoms: str) -> str:
    """Digit patterns in sequence, any separator allowed between two of them."""
    return _S.join(atoms)


_DIGIT = r"[0-9]"
_YEAR = rf"(?:1{_S}[89]|2{_S}0){_S}{_DIGIT}{_S}{_DIGIT}"
_MONTH = rf"(?:0{_S}[1-9]|1{_S}[0-2])"
_DAY = rf"(?:0{_S}[1-9]|[12]{_S}{_DIGIT}|3{_S}[01])"

# Resident ID: 6-digit region, birth date, 3-digit sequence, check character (X too).
# The birth date is required so that digits that only happen to be 18 (two dates and a
# phone number) are not read as an ID; a bare 18-digit run is still caught as a card.
_BIRTH = r"(?:18|19|20)[0-9]{2}[ \-.]?(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
_ID_WRITTEN = (
    # 320506 19900101 1234, 320506 1990 0101 1234, or without spaces
    rf"[1-9][0-9]{{5}}[ \-.]?{_BIRTH}[ \-.]?[0-9]{{3}}[0-9Xx]"
    # 3205 0619 9001 0112 34
    r"|[1-9][0-9]{3}[ \-.]?[0-9]{2}(?:18|19|20)[ \-.]?[0-9]{2}(?:0[1-9]|1[0-2])[ \-.]?"
    r"(?:0[1-9]|[12][0-9]|3[01])[0-9]{2}[ \-.]?[0-9][0-9Xx]"
    # the 15-digit ID of before 1999: region, yymmdd, sequence
    r"|[1-9][0-9]{7}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}"
)
_ID_ANY_GROUPING = (
    _spaced("[1-9]", *[_DIGIT] * 5, _YEAR, _MONTH, _DAY, _DIGIT, _DIGIT, _DIGIT) + rf"{_S}[0-9Xx]"
)
# Mainland mobile, with +86 / 0086 / 86 / (+86) before it.
_COUNTRY = r"(?:\((?:\+|00)?86\)|(?:\+|00|0)?86)"  # a parenthesis only when it is closed
_MOBILE_PREFIX = rf"(?:{_COUNTRY}{_S})?"
_MOBILE_WRITTEN = _MOBILE_PREFIX + r"1[3-9][0-9][ \-.]{0,3}[0-9]{4}[ \-.]{0,3}[0-9]{4}"
_MOBILE_ANY_GROUPING = _MOBILE_PREFIX + _spaced("1", "[3-9]", *[_DIGIT] * 9)
# Landline with an area code (0512-65123456, (010) 8765 4321, +86 512 6512 3456), an
# extension after it is masked too.
_AREA = (
    r"(?:\(0[1-9][0-9]{1,2}\)|0[1-9][0-9]{1,2}"
    r"|(?:\((?:\+|00)86\)|(?:\+|00)86)[ \-]?[1-9][0-9]{1,2})"
)
_LANDLINE_WRITTEN = (
    _AREA + r"[ \-]?[1-9][0-9]{2,3}[ \-]?[0-9]{4}(?:(?:-|转|分机|ext\.?)[0-9]{1,4})?"
)
# An eighth local digit set apart is not the first of a run of numbers (010-3000000 1 2 3)
# nor the start of a word (… 1st, … 1楼).
_EIGHTH_SET_APART = rf"{_S1}{_DIGIT}(?![ \-.][0-9]|[A-Za-z\u4e00-\u9fff])"
_LANDLINE_ANY_GROUPING = (
    _AREA + _S + _spaced("[1-9]", *[_DIGIT] * 6) + rf"(?:{_DIGIT}|{_EIGHTH_SET_APART})?"
)
# What follows a count or an amount, not a phone number: 12345678元, 3个工作日.
_QUANTITY_UNIT = r"[元万亿%％分人户件笔个次条份家名天号吨米]"
# A word that only starts with such a character is no unit: 分值, 号码, 人员, 元旦.
_NOT_A_UNIT = r"(?!分值|分数|分局|号码|人员|户籍|个人|名单|条例|次日|元旦|天气)"
_NOT_A_QUANTITY = rf"(?!\s?{_NOT_A_UNIT}{_QUANTITY_UNIT})"
# The last group of a 19-digit card (4-4-4-4-3) is not a time (… 09:00) or a count (… 100分);
# a shorter last group is not the first of more numbers (… 1 2 3) nor of a word (… 1st) either.
_NOT_A_COUNT = rf"(?![0-9:]|{_QUANTITY_UNIT})"
_NOT_A_NUMBER_OF_ITS_OWN = rf"(?![0-9:A-Za-z]|[ .,\-][0-9]|{_QUANTITY_UNIT})"
# A bare local landline (65123456, 6512-3456, 651 2345) is only 7 or 8 digits, so it must
# look like one: not part of a code (KF-02, DEMO-2026-0001, No.12345678, an invite code
# ab_1234567_c), not a date
# (20261120), not a year range (2019-2026), not an amount or a count (12345678元, 1234567.5).
_BARE_LANDLINE = (
    r"(?<![A-Za-z0-9_#№¥￥$])(?<![A-Za-z0-9_][\-.])(?<!第)"
    r"(?!(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])(?![0-9]))"
    r"(?!(?:1[89]|2[01])[0-9]{2}[ \-](?:1[89]|2[01])[0-9]{2}(?![0-9]))"
    r"(?!(?P<digit>[0-9])(?P=digit){6,7}(?![0-9]))"  # 99999999: a placeholder, no phone
    r"(?:[2-9][0-9]{6,7}|[2-9][0-9]{2,3}[ \-][0-9]{4})"
    rf"(?![0-9A-Za-z_])(?![.\-][0-9]){_NOT_A_QUANTITY}"
)
# Bank cards: 16 to 19 digits, bare or in groups of four (or 6 + the rest).
# No card number starts with 0; its groups are separated alike.
_CARD = (
    r"[1-9][0-9]{15,18}"
    rf"|[1-9][0-9]{{3}}(?P<card_separator>{_S1})[0-9]{{4}}"
    r"(?:(?P=card_separator)[0-9]{4}){2}"
    rf"(?:(?P=card_separator)(?:[0-9]{{3}}{_NOT_A_COUNT}|[0-9]{{1,2}}{_NOT_A_NUMBER_OF_ITS_OWN}))?"
    rf"|[1-9][0-9]{{5}}{_S1}[0-9]{{10,13}}"
)
_EMAIL = (
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]*"
    r"(?:@|\s?[(\[]at[)\]]\s?)[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}"
)

_WRITTEN_NUMBERS = (
    rf"(?P<id>{_ID_WRITTEN})|(?P<mobile>{_MOBILE_WRITTEN})"
    rf"|(?P<landline>{_LANDLINE_WRITTEN})|(?P<card>(?:{_CARD})(?![Xx]))"
)
_ANY_GROUPING_NUMBERS = (
    rf"(?P<id_any>{_ID_ANY_GROUPING})|(?P<mobile_any>{_MOBILE_ANY_GROUPING})"
    rf"|(?P<landline_any>{_LANDLINE_ANY_GROUPING})|(?P<card_any>(?:{_CARD})(?![Xx]))"
)
# The passes, in order; what one finds is blanked before the next. Within a pass the leftmost
# match wins, and at one position the first alternative that matches (an e-mail before the
# phone number it may start with, an ID before a card of the same length).
# 1. Numbers written the usual way that stand alone: not glued by a separator to other digits.
# 2. The same glued to other digits on one side (2026-11-20 13900001111); glued on both
#    sides it may be the middle of an ID in threes, left to the next pass.
#    Nor when a number in any grouping (pass 3) crosses one of its ends, unless what that
#    number would take outside it is a date or a year range: in
#    "1300 0000 010 2019-2026" the digits glued on the left begin a mobile, and taking
#    010 2019-2026 as a landline would leave 1300 0000 in the text; in
#    "1900-2100 010-3000000" they are a year range, and the landline stands; in
#    "LD20261120-0001 100000 20000101 0000" an ID in the code's digits would leave the
#    real ID's last twelve digits.
# 3. Digits in any grouping (1 3 8…, 13 81 23…, an ID in threes): only now, so that a date
#    is never merged into a number written the usual way next to it, never starting glued
#    to a letter (2026-Q1 3…) nor ending on a count (… 3个工作日).
# 4. Bare local landlines: seven or eight digits may as well be part of an ID in threes.
# A number does not start inside another (…12, +12) nor after a code's dash (LD20261120-0001).
_NOT_INSIDE_A_CODE = r"(?<![0-9+#№])(?<![0-9A-Za-z][\-.])"
_NUMBER_PASS_PATTERNS = (
    rf"(?=[A-Za-z0-9])(?P<email>{_EMAIL})"
    rf"|(?=[0-9(+])(?<![0-9+()])(?<![0-9][ \-.])(?:{_WRITTEN_NUMBERS})"
    rf"(?![0-9])(?![ \-.][0-9])",
    rf"(?=[0-9(+]){_NOT_INSIDE_A_CODE}(?:{_WRITTEN_NUMBERS})(?![0-9])",
    rf"(?=[0-9(+]){_NOT_INSIDE_A_CODE}(?<![A-Za-z])(?:{_ANY_GROUPING_NUMBERS})"
    r"(?![0-9元万亿%％分人户件笔个次条份家名天吨米])",
    rf"(?=[2-9])(?P<local>{_BARE_LANDLINE})",
)
_GLUED_PASS = 1  # the index of pass 2
# What may stand glued before a number without being part of it: a date or a year range.
_DATE_OR_YEARS = re.compile(
    r"(?:1[89]|2[01])[0-9]{2}(?:[\-./](?:0?[1-9]|1[0-2])[\-./](?:0?[1-9]|[12][0-9]|3[01])"
    r"|(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])|[ \-~](?:1[89]|2[01])[0-9]{2})"
)
_ANY_GROUPING_PASS = 2  # the index of pass 3
_LONGEST = 80  # no number in any grouping is longer (18 digits, three separators between)
_SEPARATOR_CHARS = " -."
_MASKS = {
    "address": ADDRESS_MASK,
    "email": EMAIL_MASK,
    "id": ID_MASK,
    "id_any": ID_MASK,
    "mobile": PHONE_MASK,
    "mobile_any": PHONE_MASK,
    "landline": PHONE_MASK,
    "landline_any": PHONE_MASK,
    "local": PHONE_MASK,
    "card": CARD_MASK,
    "card_any": CARD_MASK,
}

# ---------------------------------------------------------------- addresses

# A Han character that can be part of a place name: not a word that typically comes before an
# address (住, 址, 在, 于, 到, …), so that 家住人民路8号 keeps 家住.
_HAN = r"(?:(?![住址在于是的为和与及到向从自往去来至近位寄送对把被给])[\u4e00-\u9fff])"
_NUMBER = r"[0-9]{1,5}"
_CN_NUMBER = r"[一二三四五六七八九十百零〇两]{1,5}"
_HOUSE_NUMBER = rf"(?:{_NUMBER}|{_CN_NUMBER})"
_HAO = r"[号號]"
_DIVISION = rf"(?:{_HAN}{{1,6}}?(?:省|自治区|市|区|區|县|縣|镇|鎮|乡|鄉|街道))"
_STREET_SUFFIX = r"(?:大道|大街|胡同|路|街|巷|弄)"
# 人民路甲88号, 建设路88-1号, 中山路 88 号, 长江路100弄5号
_STREET = (
    rf"{_HAN}{{1,4}}?{_STREET_SUFFIX} ?[甲乙丙丁]?{_HOUSE_NUMBER}(?:[\-之]{_NUMBER})? ?"
    rf"(?:{_HAO}院?|弄)"
)
# The parts after the house number: 2幢301室, 3号楼2单元501, A座1203室, 12号院.
_BUILDING_UNIT = r"(?:[号號][楼樓院]|栋|棟|幢|座|单元|單元|楼|樓|层|層|室|户|戶|院)"
# A bare 号 (人民路88弄5号) only right after the number before it: "…1号 12号前报送" is a date.
_BUILDING = (
    rf"(?:(?:{_NUMBER}|[A-Za-z]) ?(?:{_BUILDING_UNIT}|{_HAO})"
    rf"| (?:{_NUMBER}|[A-Za-z]) ?{_BUILDING_UNIT})"
)
# A room number without 室, glued to what is before it: 12号2-301, 3栋502.
_ROOM_TAIL = r"(?:-?(?:[0-9]{1,3}-)?[0-9]{2,5}(?![0-9.\-]))"
_VILLAGE = rf"{_HAN}{{1,4}}?[村邨](?:[0-9]{{1,3}}[组組])?[0-9]{{1,4}}{_HAO}"
_ESTATE = rf"{_HAN}{{1,6}}?(?:小区|小區|花园|花園|新村|公寓|家园|家園|苑)"
_ADDRESS_PATTERN = (
    rf"{_DIVISION}*(?:{_STREET}|{_VILLAGE}){_BUILDING}*{_ROOM_TAIL}?"
    rf"|{_DIVISION}*{_ESTATE}{_BUILDING}+{_ROOM_TAIL}?"
    # Building, unit and room without a street: 3栋2单元501室, 2幢301室, 3单元502室.
    rf"|(?<![0-9]){_NUMBER} ?(?:[号號]楼|[号號]樓|栋|棟|幢|座|单元|單元)"
    rf"(?:{_BUILDING}+{_ROOM_TAIL}?|{_ROOM_TAIL})"
)
# Addresses need one of these characters: most texts skip the address pattern entirely.
_ADDRESS_HINT = re.compile(r"[号號弄栋棟幢座单單室]")

# ---------------------------------------------------------------- masking


_BLANK = "\x00"  # stands in the skeleton for what is already masked: neither digit nor letter


@functools.cache
def _compiled() -> tuple[re.Pattern[str], ...]:
    """The passes, compiled on first use: compiling costs tens of milliseconds, which a CLI
    command that prints nothing personal (``kpibot --help``) should not pay at import."""
    return (*(re.compile(p) for p in _NUMBER_PASS_PATTERNS), re.compile(_ADDRESS_PATTERN))


def _masked_spans(skeleton: str) -> list[tuple[int, int, str]]:
    """Where the skeleton holds personal data, and the mask for each, in text order."""
    spans: list[tuple[int, int, str]] = []
    *passes, address = _compiled()
    if _ADDRESS_HINT.search(skeleton):
        passes.append(address)
    for index, pattern in enumerate(passes):
        found = [
            (m.start(), m.end(), _MASKS[m.lastgroup or "address"])
            for m in pattern.finditer(skeleton)
        ]
        if index == _GLUED_PASS and found:
            found = _not_left_to_any_grouping(skeleton, found)
        if found:
            chars = list(skeleton)
            for start, end, _ in found:
                chars[start:end] = _BLANK * (end - start)
            skeleton = "".join(chars)
        spans.extend(found)
    return sorted(spans)


def _not_left_to_any_grouping(
    skeleton: str, found: list[tuple[int, int, str]]
) -> list[tuple[int, int, str]]:
    """What the glued pass found, less what is left to the any-grouping pass: a number glued
    on both sides, or one that a number in any grouping crosses at one of its ends, unless
    what that number takes outside it is a date or a year range."""
    crossings: list[tuple[int, int]] | None = None  # found once, only when needed
    kept = []
    for start, end, mask in found:
        before, after = skeleton[max(0, start - 2) : start], skeleton[end : end + 2]
        glued_before = len(before) == 2 and before[0].isdigit() and before[1] in _SEPARATOR_CHARS
        glued_after = len(after) == 2 and after[0] in _SEPARATOR_CHARS and after[1].isdigit()
        if glued_before and glued_after:
            continue
        if crossings is None:
            any_grouping = _compiled()[_ANY_GROUPING_PASS]
            crossings = [m.span() for m in any_grouping.finditer(skeleton)]
        k = bisect.bisect_left(crossings, (start - _LONGEST, 0))
        while k < len(crossings) and crossings[k][0] < end:
            if _takes_more_than_a_date(skeleton, start, end, *crossings[k]):
                break
            k += 1
        else:
            kept.append((start, end, mask))
    return kept


def _takes_more_than_a_date(
    skeleton: str, start: int, end: int, crossing_start: int, crossing_end: int
) -> bool:
    """Whether a number in any grouping crosses an end of the number at start:end and takes
    outside it more than a date or a year range."""
    outside = []
    if crossing_start < start < crossing_end:
        outside.append(skeleton[crossing_start:start])
    if start < crossing_start < end < crossing_end:
        outside.append(skeleton[end:crossing_end])
    return any(not _DATE_OR_YEARS.fullmatch(part.strip(_SEPARATOR_CHARS)) for part in outside)


def mask_personal_data(text: str) -> str:
    """The text with ID, phone, e-mail, bank card numbers and street addresses replaced by a
    placeholder ([电话已隐去], …); everything else is left exactly as it was."""
    if not text:
        return text
    skeleton, positions = _skeleton(text)
    spans = _masked_spans(skeleton)
    if not spans:
        return text
    pieces: list[str] = []
    copied = 0  # position in the text up to which it has been copied or masked
    for start, end, mask in spans:
        if start == end:
            continue
        pieces.append(text[copied : _original(positions, start)])
        pieces.append(mask)
        copied = _original(positions, end - 1) + 1
    pieces.append(text[copied:])
    return "".join(pieces)


def _original(positions: list[int] | None, index: int) -> int:
    return index if positions is None else positions[index]
