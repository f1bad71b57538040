"""The author panel, shown inside Khoros Care (iFrame UI extension) next to a conversation.

Reached only through the embed gate (``dashboard/ui/embed_gate.py``), which verified ``?payload=`` and put the
decoded ``EmbedPayload`` in ``st.session_state["embed_payload"]``. It shows that one author and nothing else:
no sidebar, no navigation, no way to pick another author. Lays out ``dashboard.views.build_author_panel``.
"""

import streamlit as st

from dashboard import ui
from dashboard.ui.embed_gate import verified_payload
from dashboard.views import build_author_panel

CONVERSATION = st.column_config.NumberColumn(format="%d")

payload = verified_payload()

with ui.page_guard("Could not load this author's service history"):
    view = build_author_panel(ui.get_core(), payload)
    # Customer text (name, handle, tier, agent) is shown as text, never Markdown. In a narrow frame (Khoros'
    # side panel) what needs acting on — the open conversations, overdue first — comes before the profile.
    st.subheader(ui.as_text(view.name))
    ui.render_caption(view.caption)
    ui.render_caption(view.demo_note)
    if view.missing_message:
        st.warning(ui.as_text(view.missing_message), icon=":material/search_off:")

    st.markdown("**Open conversations — overdue first, then time to breach**")
    if view.open_conversations is None:
        st.caption("No open conversation with a running service-level clock.")
    else:
        ui.render_table(view.open_conversations, key="author_panel_open",
                        column_config={"Conversation": CONVERSATION, "This one": st.column_config.CheckboxColumn()})
    ui.render_cards(view.cards, per_row=2)
    if view.attributes is not None:
        ui.render_table(view.attributes, key="author_panel_attributes")
    ui.render_caption(view.tier_history)

    st.markdown("**Recent conversations and their service levels**")
    if view.recent is None:
        st.caption("No earlier conversation with this author.")
    else:
        ui.render_table(view.recent, key="author_panel_recent", column_config={
            "Conversation": CONVERSATION,
            "First response time": st.column_config.TextColumn(help="In the target's clock (business or calendar)")})
