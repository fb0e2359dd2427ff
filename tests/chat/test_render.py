"""Chat text made safe for Markdown: no HTML, images, links or LaTeX from model output."""

from __future__ import annotations

from energy_core.chat import escape_markdown, sanitize_markdown
from energy_core.chat.render import plain_name, plain_stream, plain_text, sanitized_stream


def test_model_output_loses_html_images_and_links_but_keeps_tables_and_emphasis():
    text = (
        "**1.23 kWh** <script>alert(1)</script><img src=x onerror=alert(1)>\n"
        "![pixel](https://tracker.example/p.png) see [your bill](https://evil.example/login) "
        "or https://evil.example/x and <https://evil.example/y>\n"
        "[ref]: https://evil.example/z\n"
        "| Day | kWh |\n|---|---|\n| Mon | 1.0 |\n"
        "It cost $3.20 and $4.10."
    )
    clean = sanitize_markdown(text)
    assert "**1.23 kWh**" in clean and "| Mon | 1.0 |" in clean
    assert "<" not in clean.replace("<https", "") and "script" not in clean.replace("alert", "")
    assert "evil.example" not in clean and "tracker.example" not in clean
    assert "pixel" in clean and "your bill" in clean
    assert "\\$3.20" in clean and "\\$4.10" in clean


def test_stored_names_are_shown_literally():
    name = "[click me](https://evil.example) **now** <b>x</b>"
    escaped = escape_markdown(name)
    assert "\\[click me\\]\\(https" in escaped and "\\*\\*now\\*\\*" in escaped
    assert "\\<b\\>" in escaped
    assert plain_name("a\u202eb\nc" + "x" * 100, max_length=10) == "ab cxxxxx…"


def test_a_streamed_link_or_image_never_shows_even_while_it_arrives():
    text = (
        "Your usage: **2.00 kWh**. See ![x](https://t.example/p.png) and "
        "[bill](https://e.example/a) ok"
    )
    pieces = [text[i : i + 3] for i in range(0, len(text), 3)]
    shown = ""
    for delta in sanitized_stream(pieces):
        shown += delta
        assert "t.example" not in shown and "e.example" not in shown and "](" not in shown
    assert shown == sanitize_markdown(text)
    assert shown == "Your usage: **2.00 kWh**. See x and bill ok"


def test_plain_text_shows_escaped_names_as_typed_and_drops_bold():
    name = "Broadband router (Hallway) #2 [v1.5] 50$ C:\\box"
    markdown = f"The **{escape_markdown(name)}** used **1.20 kWh**."

    assert plain_text(markdown) == f"The {name} used 1.20 kWh."
    assert plain_text(sanitize_markdown("costs $5")) == "costs $5"
    assert plain_text("a path C:\\Users stays") == "a path C:\\Users stays"


def test_plain_stream_waits_for_an_escape_or_a_bold_marker_split_between_chunks():
    markdown = f"The **{escape_markdown('Router (Hall)')}** is on."
    chunks = [markdown[i : i + 3] for i in range(0, len(markdown), 3)]

    assert "".join(plain_stream(chunks)) == plain_text(markdown) == "The Router (Hall) is on."
