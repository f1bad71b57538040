"""Contact reasons: why customers write, by tag or disposition — volume, share and service levels per reason, the
reasons rising fastest, and the conversations behind one.

Lays out ``dashboard.views.reasons`` (``dashboard.metrics.reasons``: the functions of ``python -m dashboard report
reasons`` and the planning notebook).
"""

import streamlit as st

from dashboard import ui
from dashboard.views import build_reason_drilldown, build_reasons
from dashboard.views.reasons import REASON_LABELS, tag_options

PERCENT = st.column_config.ProgressColumn(format="%.1f%%", min_value=0, max_value=100)

ctx = ui.start_page("Contact reasons")

with ui.page_guard("Could not show the contact reasons"):
    c1, c2, c3 = st.columns([1, 1, 2])
    by = c1.segmented_control("Reasons by", list(REASON_LABELS), format_func=REASON_LABELS.get, default="tag",
                              required=True, key="reasons_by")
    min_volume = c2.number_input("Rising: at least (conversations)", min_value=1, value=10, step=1,
                                 key="reasons_min_volume",
                                 help="Only reasons with this many conversations in the window are ranked as rising, "
                                      "so that one conversation more than last period does not rank first.")
    exclude = c3.multiselect("Leave out tags", tag_options(ctx.core, ctx.filters), key="reasons_exclude",
                             disabled=by != "tag", placeholder="e.g. system tags such as Bot Handoff")
    view = build_reasons(ctx.core, ctx.filters, by=by, min_volume=int(min_volume), exclude=exclude)
    st.caption(view.caption)
    if view.empty_message:
        ui.render_empty(view.empty_message)
        st.stop()

    st.caption(view.note)
    ui.render_chart(view.chart, key="reasons_chart")
    ui.render_table(view.table, key="reasons_table",
                 column_config={"Share %": st.column_config.NumberColumn(format="%.1f%%"),
                                "First response SLA %": PERCENT, "Resolution SLA %": PERCENT})
    ui.render_download(view.reasons, f"contact_reasons_by_{by}", key="reasons_download")

    st.subheader("Rising against the previous period")
    st.caption(view.rising_note)
    if view.rising_empty:
        st.info(view.rising_empty, icon=":material/trending_flat:")
    else:
        ui.render_table(view.rising, key="reasons_rising")

    st.subheader(f"Conversations behind a {REASON_LABELS[by].lower()}")
    picked = st.selectbox(REASON_LABELS[by], view.options, index=None, key="reasons_pick",
                          placeholder=f"Pick a {REASON_LABELS[by].lower()}")
    if picked is not None:
        drill = build_reason_drilldown(ctx.core, ctx.filters, picked, by=by, exclude=exclude)
        ui.render_counted(drill.count, drill.detail)
        ui.render_table(drill.rows, key="reasons_rows", height=320)
        ui.render_download(drill.rows, drill.file_name, key="reasons_rows_download")
