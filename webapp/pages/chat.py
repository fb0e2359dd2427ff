"""Chat: questions about the household in plain language, answered from its own data, each answer
with the evidence behind its numbers. Model output and stored names are untrusted: everything is
shown as sanitised Markdown (no raw HTML, images or links)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from energy_core.chat import (
    LLM,
    TOOLS,
    ChatAnswer,
    clear_history,
    escape_markdown,
    load_history,
    record_exchange,
    sanitize_markdown,
    selected_engine,
    stream_answer,
    suggested_questions,
)
from energy_core.chat.render import sanitized_stream
from energy_core.db import session_scope
from energy_core.settings import get_settings
from webapp import auth
from webapp.loaders import DatabaseUnavailable, read_session

PENDING = "chat_pending_question"
SUGGESTIONS_TTL_S = 300
HISTORY_SHOWN = 100


@st.cache_data(ttl=SUGGESTIONS_TTL_S, show_spinner=False)
def load_suggestions(user_id: int) -> list[str]:
    with read_session() as session:
        return suggested_questions(session, user_id=user_id)


def engine_label(engine: str, model: str | None) -> str:
    if engine == LLM:
        return f"Answered by the language model {model or ''}".rstrip()
    return "Answered by the offline analyst"


def _coverage(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def evidence_expander(tool_calls: list[dict[str, Any]]) -> None:
    """ "How I got this": every tool call, its devices, range (with timezone), coverage and data."""
    if not tool_calls:
        return
    with st.expander("How I got this", icon=":material/fact_check:"):
        for made in tool_calls:
            # Tool names the model made up are not shown: they are its text, not ours.
            tool = made.get("tool") if made.get("tool") in TOOLS else "unknown tool"
            if made.get("error"):
                st.markdown(f"`{tool}`: refused")
                st.text(made["error"])
                continue
            evidence = made.get("evidence") or {}
            devices = evidence.get("devices") or []
            names = ", ".join(d["name"] for d in devices) or "—"
            if evidence.get("whole_household"):
                names = f"whole household ({len(devices)} devices)"
            lines = [f"`{tool}`"]
            span = evidence.get("range")
            if span:
                lines.append(f"Range: {escape_markdown(span['description'])}")
                lines.append(
                    f"From {escape_markdown(span['start'])} to {escape_markdown(span['end'])} "
                    f"({escape_markdown(span['timezone'])})"
                )
            lines.append(f"Coverage: {_coverage(evidence.get('coverage'))}")
            st.markdown("  \n".join(lines))
            st.text(f"Devices: {names}")
            if evidence.get("note"):
                st.caption(escape_markdown(evidence["note"]))
            st.json(made.get("result") or {}, expanded=False)


def show_message(
    role: str,
    content: str,
    *,
    engine: str | None,
    model: str | None,
    notice: str | None,
    tool_calls: list[dict[str, Any]],
) -> None:
    with st.chat_message(role):
        if role == "user":
            st.markdown(escape_markdown(content))
            return
        if notice:
            st.warning(notice, icon=":material/cloud_off:")
        st.markdown(sanitize_markdown(content))
        st.caption(engine_label(engine or "", model))
        evidence_expander(tool_calls)


def ask(user: auth.SignedInUser, question: str, history: list[dict[str, str]]) -> ChatAnswer | None:
    """Stream the answer to ``question``, then store the exchange; None if it was refused."""
    with st.chat_message("user"):
        st.markdown(escape_markdown(question))
    with st.chat_message("assistant"):
        try:
            with read_session() as session:
                stream = stream_answer(session, user_id=user.id, question=question, history=history)
                st.write_stream(sanitized_stream(stream))
                answer = stream.result()
        except ValueError as exc:
            st.error(str(exc))
            return None
        if answer.notice:
            st.warning(answer.notice, icon=":material/cloud_off:")
        st.caption(engine_label(answer.engine, answer.model))
        evidence_expander([c.to_dict() for c in answer.tool_calls])
        if answer.suggestions and not answer.understood:
            # A question back (which device? did you mean?): its options as buttons.
            with st.container(horizontal=True):
                for i, option in enumerate(answer.suggestions):
                    st.button(option, key=f"chat_option_{i}", on_click=queue, args=(option,))
    with session_scope() as session:
        record_exchange(session, user_id=user.id, question=question, answer=answer)
    return answer


def asks_back(answer: ChatAnswer | None) -> bool:
    """Whether the answer offers its own questions to pick (shown as its buttons)."""
    return answer is not None and bool(answer.suggestions) and not answer.understood


def suggestion_row(user: auth.SignedInUser, *, first: bool) -> None:
    """The household's suggested questions as buttons, once, below the conversation."""
    if first:
        st.markdown("Ask about your energy use, costs, devices and rooms. For example:")
    with st.container(horizontal=True):
        for i, question in enumerate(load_suggestions(user.id)):
            st.button(
                question,
                key=f"chat_suggestion_{i}",
                on_click=queue,
                args=(question,),
                type="secondary" if first else "tertiary",
            )


def queue(question: str) -> None:
    st.session_state[PENDING] = question


def chat_page(user: auth.SignedInUser) -> None:
    settings = get_settings()
    engine = selected_engine(settings)
    with read_session() as session:
        messages = load_history(session, user_id=user.id, limit=HISTORY_SHOWN)
    top = st.columns([4, 1], vertical_alignment="bottom")
    with top[0]:
        if engine == LLM:
            st.caption(
                f"Answers come from {settings.openai_model} using read-only tools over your own "
                "data; if it fails, the built-in offline analyst answers."
            )
        else:
            st.caption(
                "Answers come from the built-in offline analyst (no data leaves this server)."
            )
    # Offered once there is a conversation: a first visit had a button to clear nothing above
    # the suggestions (a whole line of a phone's screen).
    with top[1]:
        if messages and st.button("Clear history", icon=":material/delete_sweep:", width="stretch"):
            with session_scope() as session:
                clear_history(session, user_id=user.id)
            st.session_state.pop(PENDING, None)
            st.toast("Chat history cleared.")
            messages = []
    for message in messages:
        show_message(
            message.role,
            message.content,
            engine=message.engine,
            model=message.model,
            notice=message.notice,
            tool_calls=message.tool_calls,
        )

    # The input is pinned to the bottom of the page wherever it is called; reading it first
    # lets the suggestions follow the newest answer instead of sitting above the question.
    typed = st.chat_input("Ask about your energy use…", max_chars=2000)
    question = typed or st.session_state.pop(PENDING, None)
    if not question:
        suggestion_row(user, first=not messages)
        return
    history = [{"role": m.role, "content": m.content} for m in messages[-20:]]
    answer = ask(user, question, history)
    if not asks_back(answer):
        suggestion_row(user, first=False)


user = auth.current_user()
st.title("Chat", anchor=False)
try:
    chat_page(user)
except DatabaseUnavailable as exc:
    st.error(str(exc), icon=":material/cloud_off:")
