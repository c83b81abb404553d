"""A Slack-like HTML page of a Block Kit message, for the README's screenshot of the demo's digest.

    python -m tests.support.slack_preview out/demo-slack-digest.json out/demo-slack-digest.html

It reads what `healthaudit demo` writes ({"text", "blocks"}, and "attachments" or "thread" when the
digest has them) and draws it as Slack's desktop client lays a bot message out: header, sections
with fields, context lines, dividers, buttons, and attachments with their colour bar. mrkdwn is
converted the way Slack reads it (https://api.slack.com/reference/surfaces/formatting): *bold*,
_italic_, ~strike~, `code`, <url|label> links; the text arrives escaped (&amp; &lt; &gt;) and stays so.
Not product code: never part of the Lambda layer.
"""

from __future__ import annotations

import json
import re
import sys
from html import escape
from pathlib import Path
from typing import Any

LINK = re.compile(r"<(https?://[^|>]+)(?:\|([^>]+))?>")
STYLES = (
    (re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)\*(?![\w*])"), r"<b>\1</b>"),
    (re.compile(r"(?<![\w_])_(?!\s)([^_\n]+?)_(?![\w_])"), r"<i>\1</i>"),
    (re.compile(r"(?<![\w~])~(?!\s)([^~\n]+?)~(?![\w~])"), r"<s>\1</s>"),
)
CODE = re.compile(r"`([^`\n]+)`")
#: Coloured circles and squares as Slack draws them (its own emoji images, not the system's font, which a
#: headless machine may lack): the shape and Slack's colour for each.
SHAPES = {
    "\U0001f534": ("50%", "#dd2e44"),  # red circle
    "\U0001f7e0": ("50%", "#f4900c"),  # orange circle
    "\U0001f7e1": ("50%", "#fdcb58"),  # yellow circle
    "\U0001f7e2": ("50%", "#78b159"),  # green circle
    "\U0001f535": ("50%", "#55acee"),  # blue circle
    "\U0001f7e3": ("50%", "#aa8ed6"),  # purple circle
    "\u26aa": ("50%", "#e6e7e8"),  # white circle
    "\u26ab": ("50%", "#31373d"),  # black circle
    "\U0001f7e5": ("2px", "#dd2e44"),  # red square
    "\U0001f7e7": ("2px", "#f4900c"),  # orange square
    "\U0001f7e8": ("2px", "#fdcb58"),  # yellow square
    "\U0001f7e9": ("2px", "#78b159"),  # green square
    "\U0001f7e6": ("2px", "#55acee"),  # blue square
}

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Slack digest preview</title><style>
body {{ margin: 0; background: #fff; font: 15px/1.46668 -apple-system, "Segoe UI", "Helvetica Neue", Arial, sans-serif;
  color: #1d1c1d; }}
.channel {{ border-bottom: 1px solid #ddd; padding: 10px 20px; font-weight: 900; font-size: 18px; }}
.message {{ display: flex; gap: 8px; padding: 12px 20px; }}
.avatar {{ width: 36px; height: 36px; border-radius: 6px; background: #ff9900; color: #fff; font-weight: 900;
  display: flex; align-items: center; justify-content: center; flex: none; }}
.body {{ min-width: 0; flex: 1; }}
.who b {{ font-weight: 900; }} .who .app {{ background: #e8e8e8; color: #616061; font-size: 10px; padding: 1px 3px;
  border-radius: 2px; margin-left: 4px; }} .who .time {{ color: #616061; font-size: 12px; margin-left: 6px; }}
.header {{ font-size: 18px; font-weight: 900; margin: 4px 0; }}
.section {{ margin: 4px 0; white-space: pre-wrap; word-wrap: break-word; }}
.fields {{ display: grid; grid-template-columns: 1fr 1fr; gap: 4px 16px; margin: 4px 0; white-space: pre-wrap; }}
.context {{ color: #616061; font-size: 13px; margin: 4px 0; white-space: pre-wrap; }}
hr {{ border: 0; border-top: 1px solid #ddd; margin: 8px 0; }}
a {{ color: #1264a3; text-decoration: none; }}
code {{ font: 12px Monaco, Menlo, Consolas, monospace; color: #e01e5a; background: #f6f6f6; border: 1px solid #ddd;
  border-radius: 3px; padding: 0 3px; }}
.emoji {{ display: inline-block; width: 0.95em; height: 0.95em; vertical-align: -0.1em; margin: 0 0.1em; }}
.button {{ display: inline-block; border: 1px solid #bbb; border-radius: 4px; padding: 2px 12px; font-weight: 700;
  margin: 4px 6px 4px 0; }}
.attachment {{ border-left: 4px solid #ddd; padding-left: 12px; margin: 6px 0; }}
.thread {{ margin: 4px 0 0 64px; border-left: 2px solid #e8e8e8; }}
.thread-label {{ color: #1264a3; font-size: 13px; font-weight: 700; margin: 0 20px 0 64px; }}
</style></head><body>
<div class="channel"># {channel}</div>
{messages}
</body></html>
"""


def mrkdwn(text: str) -> str:
    """Slack mrkdwn (already &-escaped, as Slack requires) to HTML."""
    links: list[str] = []

    def keep_link(match: re.Match[str]) -> str:
        url, label = match.group(1), match.group(2) or match.group(1)
        links.append(f'<a href="{escape(url, quote=True)}">{label}</a>')
        return f"\x00{len(links) - 1}\x00"

    text = LINK.sub(keep_link, text.replace('"', "&quot;"))
    codes: list[str] = []

    def keep_code(match: re.Match[str]) -> str:
        codes.append(f"<code>{match.group(1)}</code>")
        return f"\x01{len(codes) - 1}\x01"

    text = CODE.sub(keep_code, text)
    for pattern, replacement in STYLES:
        text = pattern.sub(replacement, text)
    text = re.sub("\x01(\\d+)\x01", lambda m: codes[int(m.group(1))], text)
    return re.sub("\x00(\\d+)\x00", lambda m: links[int(m.group(1))], text)


def text_object(obj: dict[str, Any] | None) -> str:
    if not obj:
        return ""
    text = mrkdwn(obj["text"]) if obj.get("type") == "mrkdwn" else escape(obj.get("text", ""), quote=False)
    return emoji(text)


def emoji(html: str) -> str:
    for character, (radius, colour) in SHAPES.items():
        html = html.replace(
            character, f'<span class="emoji" style="border-radius: {radius}; background: {colour}"></span>'
        )
    return html


def block(data: dict[str, Any]) -> str:
    kind = data.get("type")
    if kind == "header":
        return f'<div class="header">{text_object(data["text"])}</div>'
    if kind == "divider":
        return "<hr>"
    if kind == "section":
        parts = [f'<div class="section">{text_object(data.get("text"))}</div>'] if data.get("text") else []
        if data.get("fields"):
            parts.append(
                '<div class="fields">' + "".join(f"<div>{text_object(f)}</div>" for f in data["fields"]) + "</div>"
            )
        if data.get("accessory", {}).get("type") == "button":
            parts.append(button(data["accessory"]))
        return "".join(parts)
    if kind == "context":
        items = [text_object(e) for e in data.get("elements", []) if e.get("type") in ("mrkdwn", "plain_text")]
        return f'<div class="context">{"  ".join(items)}</div>'
    if kind == "actions":
        return "<div>" + "".join(button(e) for e in data.get("elements", []) if e.get("type") == "button") + "</div>"
    return f'<div class="section">{escape(json.dumps(data)[:200])}</div>'  # a block this preview does not draw


def button(element: dict[str, Any]) -> str:
    label = text_object(element.get("text"))
    url = element.get("url")
    return (
        f'<a class="button" href="{escape(url, quote=True)}">{label}</a>'
        if url
        else f'<span class="button">{label}</span>'
    )


def message(payload: dict[str, Any], time: str) -> str:
    blocks = "".join(block(b) for b in payload.get("blocks", []))
    if not blocks and payload.get("text"):
        blocks = f'<div class="section">{emoji(mrkdwn(payload["text"]))}</div>'
    for attachment in payload.get("attachments", []):
        inner = "".join(block(b) for b in attachment.get("blocks", [])) or mrkdwn(attachment.get("text", ""))
        colour = escape(attachment.get("color", "#ddd"), quote=True)
        blocks += f'<div class="attachment" style="border-left-color: {colour}">{inner}</div>'
    return (
        '<div class="message"><div class="avatar">HA</div><div class="body">'
        '<div class="who"><b>Lambda health auditor</b><span class="app">APP</span>'
        f'<span class="time">{time}</span></div>'
        f"{blocks}</div></div>"
    )


def page(digest: dict[str, Any], channel: str = "lambda-health") -> str:
    messages = [message(digest, "06:02")]
    thread = digest.get("thread") or []
    if isinstance(thread, dict):
        thread = [thread]
    if thread:
        messages.append(f'<div class="thread-label">{len(thread)} repl{"y" if len(thread) == 1 else "ies"}</div>')
        messages.append('<div class="thread">' + "".join(message(reply, "06:02") for reply in thread) + "</div>")
    return PAGE.format(channel=escape(channel), messages="\n".join(messages))


def main(argv: list[str]) -> int:
    source, target = Path(argv[0]), Path(argv[1])
    target.write_text(page(json.loads(source.read_text(encoding="utf-8"))), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
