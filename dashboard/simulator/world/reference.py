"""The world's reference data and the knobs of its behaviour: tiers, networks, bots, work queues, teams,
tags, names, arrival profiles, first-response targets per tier and priority, shifts and incident specs."""

from __future__ import annotations

import numpy as np

MS = 1000
MINUTE = 60 * MS
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY
NEVER = 7_258_118_400_000
"""2200-01-01 UTC: the instant of what has not happened (the same in every world, so nothing drawn depends on the
world's end); cut away with everything else after ``now``."""
LIFETIME = 7 * DAY
"""The simulated company closes every conversation a week after it started (what has not happened by then never
does; the customer's next message would open a new conversation). So a conversation's row and events are final a
week after its creation: what the sync's settle margin for conversations assumes (dashboard/store/sync.py)."""

TIERS = ("Platinum", "Gold", "Silver", "Standard")
TIER_WEIGHTS = np.array([0.06, 0.16, 0.26, 0.52])
NEW_AUTHOR_SHARE = 0.55
"""Conversations by a new author; the others come from an author seen before (any earlier one, uniformly)."""
TIER_CHANGE_SHARE = 0.10
TIER_CHANGE_WITHIN = 60 * DAY
"""About 10 % of authors change tier once, within 60 days of their first conversation."""
# First-response target behaviour in business seconds (median before noise), per tier; then per priority.
FRT_BASE_S = np.array([9 * 60, 22 * 60, 55 * 60, 120 * 60], dtype=float)
FRT_PRIORITY_FACTOR = np.array([1.5, 1.25, 1.0, 0.85, 0.65, 0.45])
# Once assigned, an agent writes the first reply in a few minutes (median before noise, seconds).
HANDLE_MEDIAN_S = 6 * 60
# Priority at creation by tier: cumulative probabilities for priorities 0..5.
PRIORITY_BY_TIER = np.array(
    [
        [0.00, 0.00, 0.10, 0.35, 0.75, 1.00],  # Platinum
        [0.00, 0.05, 0.30, 0.70, 0.93, 1.00],  # Gold
        [0.05, 0.30, 0.75, 0.93, 0.99, 1.00],  # Silver
        [0.25, 0.65, 0.90, 0.97, 0.995, 1.00],  # Standard
    ]
)

NETWORKS = ("twitter", "facebook", "instagram", "whatsapp", "apple_messages", "brand_messenger")
NETWORK_WEIGHTS = np.array([0.18, 0.24, 0.10, 0.22, 0.10, 0.16])
NETWORK_PUBLIC_SHARE = np.array([0.45, 0.30, 0.35, 0.0, 0.0, 0.0])
NETWORK_BOT_SHARE = np.array([0.10, 0.70, 0.15, 0.80, 0.75, 0.85])
# Which bot app serves each network (index into BOTS).
NETWORK_APP = np.array([2, 2, 2, 1, 0, 0])

BOTS = (
    {"app_id": "sim-assist-bot", "name": "Assist (owned chat and Apple Messages)", "network_key": "brand_messenger",
     "external_id": "brand-chat-01", "callback_url": "https://assist.bots.example.com/khoros/webhook"},
    {"app_id": "sim-whatsapp-concierge", "name": "WhatsApp Concierge", "network_key": "whatsapp",
     "external_id": "wa-15550100", "callback_url": "https://concierge.example.net/hooks/khoros"},
    {"app_id": "sim-social-dm-bot", "name": "Social DM triage", "network_key": "facebook",
     "external_id": "fb-page-4471", "callback_url": "https://triage.example.org/api/khoros/events"},
)

# Work queues: 1-2 are automation queues, 10-12 human queues routed by priority and tier.
QUEUE_BOT, QUEUE_HANDOFF, QUEUE_PREMIER, QUEUE_URGENT, QUEUE_GENERAL = 1, 2, 10, 11, 12
WORK_QUEUES = (
    (QUEUE_BOT, "Bot – automation only", "bot", None),
    (QUEUE_HANDOFF, "Bot handoff", "bot_handoff", None),
    (QUEUE_PREMIER, "Premier (Platinum and Gold)", "human", 1),
    (QUEUE_URGENT, "Urgent (priority 4–5)", "human", 2),
    (QUEUE_GENERAL, "General care", "human", 3),
)
TEAMS = ((1, "Premier Care"), (2, "Priority Desk"), (3, "General Care"))
TEAM_SHARE = np.array([0.125, 0.153, 0.722])
"""The share of conversations each team's queue routes (Premier, Urgent, General): agents are hired to it."""
TOPIC_TAGS = ("Billing", "Delivery", "Returns", "Technical issue", "Account access", "Complaint")
SYSTEM_TAGS = ("Bot Handoff", "Automatic Bot Handoff", "Bot Contained")
DISPOSITIONS = ("Resolved", "Resolved", "Resolved", "Information provided", "Escalated", "Duplicate")
AGENT_STATE_TYPES = (
    ("Available", "AVAILABLE"),
    ("Lunch", "CUSTOM"),
    ("Break", "CUSTOM"),
    ("Training", "CUSTOM"),
    ("Offline", "OFFLINE"),
)
REGIONS = ("Northeast", "Southeast", "Midwest", "West", "Canada", "UK")
LTV_BY_TIER = (25000, 9000, 2500, 300)

FIRST_NAMES = (
    "Ava", "Liam", "Noah", "Emma", "Mia", "Lucas", "Sofia", "Ethan", "Amara", "Yuki", "Mateo", "Zara", "Omar",
    "Chloe", "Ivan", "Priya", "Diego", "Hana", "Kofi", "Lena", "Arjun", "Grace", "Tariq", "Nora", "Felix",
    "Leila", "Marco", "Ingrid", "Samir", "Julia",
)
LAST_NAMES = (
    "Smith", "Garcia", "Okafor", "Chen", "Novak", "Rossi", "Kim", "Silva", "Haddad", "Muller", "Patel", "Brown",
    "Nguyen", "Kowalski", "Johansson", "Dubois", "Tanaka", "Murphy", "Costa", "Levi",
)
CUSTOMER_TEXTS = (
    "Hi, my order still has not arrived",
    "I was charged twice this month",
    "How do I reset my password",
    "The app crashes when I open my account",
    "I want to return a damaged item",
    "Can someone call me back please",
    "Where is my refund",
    "Your delivery driver left the parcel outside",
)
INCIDENT_KINDS = ("token_expired", "bad_deploy_4xx", "endpoint_down", "slow")
INCIDENT_WEEKS = (
    # kind, bot app index, first weekday (Monday = 0; it or the next), UTC hour, duration
    (("token_expired", 1, 0, 14, 3 * HOUR), ("endpoint_down", 0, 2, 15, 1 * HOUR)),  # even weeks
    (("bad_deploy_4xx", 2, 0, 16, 40 * MINUTE), ("slow", 0, 2, 18, 2 * HOUR)),  # odd weeks
)
"""The scripted automation incidents of a week (:func:`~dashboard.simulator.world.arrivals.place_incidents`)."""
SPIKE_HOURS = (3, 4, 5, 6)
SPIKE_FACTOR = (3.0, 4.0)
"""A week's traffic spike lasts 3-6 hours at 3-4x the usual hourly traffic."""

SHIFT_LENGTH = 420 * MINUTE
# Conversations an agent may have in hand at once (lowest, highest; drawn per agent), per team: Premier Care and
# the Priority Desk answer fast and few at a time, General Care handles more in parallel. A new assignment waits
# for a free slot (dashboard/simulator/world/routing.py).
AGENT_CAPACITY = np.array([[4, 6], [4, 6], [6, 9]])
LATE_SHIFT_OFFSET = 60 * MINUTE  # the late shift starts an hour after opening and works until closing

HOUR_PROFILE = np.array(
    [0.14, 0.09, 0.07, 0.06, 0.07, 0.14, 0.32, 0.58, 0.90, 1.10, 1.20, 1.20,
     1.15, 1.12, 1.10, 1.05, 1.00, 0.95, 0.92, 0.97, 1.00, 0.85, 0.58, 0.30]
)
WEEKDAY_PROFILE = np.array([1.12, 1.06, 1.0, 1.0, 0.95, 0.58, 0.48])  # Monday..Sunday

ACTION_NAMES = np.asarray(
    ["ASSIGNED", "QUEUE_CHANGED", "STATUS_CHANGED", "PRIORITY_CHANGED", "HANDOFF_TO_AGENT", "CLOSED", "REOPENED",
     "CONTROL_TO_BOT"]
)
STATUS = np.asarray(["OPEN", "PENDING", "CLOSED"])


INCIDENT_SPECS = {
    "token_expired": {"origin": "BOT", "http_code": 401,
                      "message": "401 Unauthorized: JWT expired at <time> for appId <app>"},
    "bad_deploy_4xx": {"origin": "BOT", "http_code": 400,
                       "message": "400 Bad Request: field 'coordinate.messageId' must not be null "
                                  "(conversation <n>, request <id>)"},
    "endpoint_down": {"origin": "KHOROS", "http_code": 503,
                      "message": "POST <url> returned 503 Service Unavailable after <n> ms (delivery <id>)"},
    "slow": {"origin": "KHOROS", "http_code": 504,
             "message": "504 Gateway Timeout: no answer from <url> within 10000 ms (delivery <id>)"},
}



EVENT_TYPES = np.asarray(["CREATED", "message", "respond", "control", "resolve", "AGENT_RESPONSE", "CLOSED",
                          "update"])
"""What each request record is (the generator's codes): deliveries to the bot (KHOROS) and the bot's calls."""
RECORD_EVENT_TYPES = np.asarray(["CREATED", "message", "message", "control", "resolve", "AGENT_RESPONSE", "CLOSED",
                                 "update"])
"""What a client reads as the record's event from its documented ``payload``: ``operation`` of a conversation
update (CREATED, CLOSED, AGENT_RESPONSE), else ``type`` (a bot's /respond body is a ``message``)."""
CONVERSATION_EVENTS = (0, 5, 6)
"""Codes whose payload names the conversation (``conversation.conversationUuid``)."""
REQUEST_KINDS = ("", *INCIDENT_KINDS, "bg_500", "bg_429", "bg_408")
ORIGIN_OF_EVENT = np.asarray(["KHOROS", "KHOROS", "BOT", "BOT", "BOT", "KHOROS", "KHOROS", "KHOROS"])

# How the company writes times in its exports (its Khoros setting), as Khoros shows it -> strftime. The
# simulator's own table: the client reads these with its own parser, never with this.
COMPANY_TIME_FORMATS = {
    "MM/dd/yyyy HH:mm:ss": "%m/%d/%Y %H:%M:%S",
    "dd/MM/yyyy HH:mm:ss": "%d/%m/%Y %H:%M:%S",
    "MM/dd/yyyy hh:mm:ss a": "%m/%d/%Y %I:%M:%S %p",
    "dd.MM.yyyy HH:mm:ss": "%d.%m.%Y %H:%M:%S",
    "yyyy-MM-dd HH:mm:ss": "%Y-%m-%d %H:%M:%S",
}
# The export ``locale`` parameter (en, es, fr, de, tr; one example passes en_US) picks the format instead.
LOCALE_TIME_FORMATS = {
    "en": "MM/dd/yyyy HH:mm:ss", "en_us": "MM/dd/yyyy HH:mm:ss", "en_gb": "dd/MM/yyyy HH:mm:ss",
    "es": "dd/MM/yyyy HH:mm:ss", "fr": "dd/MM/yyyy HH:mm:ss", "tr": "dd.MM.yyyy HH:mm:ss",
    "de": "dd.MM.yyyy HH:mm:ss",
}
