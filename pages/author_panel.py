"""The author panel, shown inside Khoros Care (iFrame UI extension) next to a conversation.

Reached only through the embed gate (``dashboard/ui/embed_gate.py``), which verified ``?payload=`` and put the
decoded ``EmbedPayload`` in ``st.session_state["embed_payload"]``. It shows that one author and nothing else:
no sidebar, no navigation, no way to pick another author. Lays out ``dashboard.views.build_author_panel``.
"""

import streamlit as st

from dashboard import ui
from dashboard.ui.embed_gate import verified_payload
from dashboard.views import build_author_panel

CONVERSATION = st.column_config.NumberColumn("Conversation", format="%d")

payload = verified_payload()

with ui.page_guard("Could not load this author's service history"):
    view = build_author_panel(ui.get_core(), payload)
    st.subheader(view.name)
    st.caption(view.caption)
    if view.demo_note:
        st.caption(view.demo_note)
    if view.missing_message:
        st.warning(view.missing_message, icon=":material/search_off:")
    ui.render_cards(view.cards)
    if view.attributes is not None:
        st.dataframe(view.attributes, hide_index=True, key="author_panel_attributes")
    if view.tier_history:
        st.caption(view.tier_history)

    st.markdown("**Open conversations — time to breach**")
    if view.open_conversations is None:
        st.caption("No open conversation with a running service-level clock.")
    else:
        st.dataframe(view.open_conversations, hide_index=True, key="author_panel_open",
                     column_config={"conversation_display_id": CONVERSATION,
                                    "this_one": st.column_config.CheckboxColumn("This one"),
                                    "breaches_in": st.column_config.TextColumn("Breaches in (− overdue)")})

    st.markdown("**Recent conversations and their service levels**")
    if view.recent is None:
        st.caption("No earlier conversation with this author.")
    else:
        st.dataframe(view.recent, hide_index=True, key="author_panel_recent",
                     column_config={"conversation_display_id": CONVERSATION, "first_response_status": "First response",
                                    "first_response": st.column_config.TextColumn(
                                        "First response time", help="In the target's clock (business or calendar)"),
                                    "resolution_status": "Resolution"})
