"""What kind of question it is, from its wording: about points, or about a service.

Two small phrase lists, written once for the appraisal domain (not per rulebook): staff who
ask about an indicator ask whether something counts, how many points it costs or brings;
office questions no rulebook answers ask where, when and how to get something done. They are
features of the calibrated decision, weighed per rulebook like the others.
"""

from __future__ import annotations

import re

_POINTS = re.compile(
    r"扣分|加分|减分|得分|分数|几分|多少分|扣多少|加多少|扣几|加几|算不算|怎么算|如何算|怎么计|"
    r"计分|记分|算分|计入|算进|考核|考评|绩效|指标|排名|扣[^，。？！、\s]{0,3}分|加[^，。？！、\s]{0,3}分|"
    r"能不能算|算吗|算数|怎么扣|会扣|要扣|扣吗|影响"
)
# The points cue proper: asks what something does to the score (扣分吗, 算不算, 影响考核吗,
# 会怎样).
# Narrower than the appraisal vocabulary above: office questions name 考核 and 绩效 too
# ("绩效工资什么时候发", "考核表在哪里下载"), but they do not ask whether something scores.
_SCORES = re.compile(
    r"扣分|加分|减分|得分|几分|多少分|扣多少|加多少|扣几|加几|扣[^，。？！、\s]{0,3}分|"
    r"加[^，。？！、\s]{0,3}分|怎么扣|会扣|要扣|扣吗|算不算|能不能算|算吗|算进|计入|怎么算|如何算|"
    r"影响[^，。？！、\s]{0,6}(?:考核|考评|绩效|排名|分)|有影响|什么影响|受影响|会怎样|会怎么样|"
    r"要紧吗|扣哪|有分吗|还能[再又]?加|算在|能不能记|怎么记|沾光|扣不扣"
)
_SERVICE = re.compile(
    r"怎么办理|如何办理|去哪|在哪|哪里|几点|几号|什么时候发|多少钱|怎么申请|怎么申领|怎么注册|"
    r"登录|登不上|密码|闪退|打不开|下载|电话是多少|找谁|报名|预约|挂失|补办|开通|充值|报销|到账|"
    r"什么材料|哪些材料|要带什么|提供什么|怎么准备|怎么查|费是多少|需要办|"
    r"什么条件|怎么写|流程是什么|发了吗|订好了|收费吗|收费标准|找哪|放哪|"
    r"(?:证|照|许可|登记|手续)怎么办|(?:证|资格)怎么考|(?:手机|网上|线上)上?(?:怎么|如何)|"
    r"(?:怎么|如何)给[^，。？！]{1,8}办理|"
    r"(?:怎么|如何|怎样)(?:交|缴|提取|领|补卡|操作|使用|查询|打印|订阅|续签|备案|填写|调休|"
    r"校验|年检|年审|换证)|"
    # paperwork, fees, opening hours and whom to call, as the public asks them
    r"办什么手续|要什么手续|什么审批手续|提交哪些|提交什么|(?:交|缴)多少(?!分)|需要公证|"
    r"能不能办理|能不能办[^，。？理]{0,3}证|能办吗|还要办吗|要办什么|"
    r"(?:哪一|哪)年(?:颁布|出台)|什么时候颁布|有没有害|对人有害|"
    r"上不上班|几点上班|几点下班|周[六日末]上班|周末上班|打哪个电话|哪个电话"
)

# Asks what the rule requires or allows in a situation (要不要报, 几天内要录入, 这样行吗, 有啥后果):
# a question about an indicator's standard even when it names no points.
_RULES = re.compile(
    r"要不要|是不是要|是不是得|行吗|行不行|可以吗|有啥后果|什么后果|超时了吗|算晚吗|算超时|"
    r"多少天内|几天内|多久内|天之内|能不能宽限|会被说|会被通报"
)


# Anything that makes a message a question: a question mark or particle, a question word,
# an A-not-A form (算不算, 有没有), or a verb closed by 了没有 / 过没有 (排好了没有, a question
# without its mark); not 几 in 好几家 or 几千次.
_ASKS = re.compile(
    r"[？?吗呢啥谁哪怎咋]|什么|如何|多少|多久|多长|多大|是否|能否|可否|(?<![好十])几(?![千百十万])|(.)[不没]\1"
    r"|[了过]没有\W*$"
)
SITUATION_CHARS = 10  # a told situation is a sentence, not a term or a fragment


def tells_situation(text: str) -> bool:
    """True when the message tells what happened without asking anything ("上坟烧纸把后山
    点着了，烧了半亩多林子"): said to an appraisal assistant, it asks how that counts, even
    when it names a service ("钱这个月迟迟没到账", "还没开通账号，没法受理")."""
    told = "".join(ch for ch in text if ch.isalnum())
    return len(told) >= SITUATION_CHARS and not _ASKS.search(text)


def asks_points(text: str) -> float:
    """1.0 when the (simplified) question asks whether or how much something scores."""
    return 1.0 if _SCORES.search(text) else 0.0


def asks_rule(text: str) -> bool:
    """True when the question asks what the rule requires or allows (要不要, 几天内, 行吗)."""
    return bool(_RULES.search(text))


def asks_service(text: str) -> float:
    """1.0 when the question asks where, when or how to get something done, and not whether
    it scores: "退税…拖了两周才到账，这个怎么算" tells a situation and asks about points. A
    message must ask to ask for a service: "工人卡上一直没到账" names one and asks nothing
    (:func:`tells_situation`). Chosen by a nested leave-one-rulebook-out (docs/benchmarks.md,
    session 21): every fold preferred it."""
    return 1.0 if _service_words(text) and _ASKS.search(text) else 0.0


def names_service(text: str) -> bool:
    """True when the message names a service without asking for it and without asking about
    points ("电子税务局的APP老是闪退", "工人卡上一直没到账"): it may tell a situation an
    indicator counts or a complaint no rulebook covers, so it is never answered with
    confidence; the candidates are offered instead. :func:`asks_service`'s other half."""
    return _service_words(text) and not _ASKS.search(text)


def _service_words(text: str) -> bool:
    """Service words, and nothing that asks about points."""
    return bool(_SERVICE.search(text)) and not _SCORES.search(text)


def only_cue_words(core: str) -> bool:
    """True when the question is nothing but appraisal words (考核, 扣分, 绩效, 怎么算…): it
    names no indicator, so it is never answered with confidence, whichever indicator's
    name happens to hold the word."""
    return bool(core) and len(_POINTS.sub("", core)) < 2
