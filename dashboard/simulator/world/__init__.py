"""One seeded, deterministic Khoros Care world: every export and API answer of the simulator is a view of it.

The world covers ``[end - days, end)``. Conversations are generated stage by stage as numpy arrays (one
element per conversation; a stage is a bot turn, an assignment, a customer follow-up burst, a close...), so
the default world (90 days x 400 conversations a day) builds in a second or two and 5,000 a day stays
practical. Events are generated as they *would* happen and then cut at ``now``: whatever lies after ``now``
has not happened yet, which is what leaves a realistic open backlog.

How service behaves (so the dashboard has something true to find):
- agents work weekday business hours (``calendar.py``, 09:00-17:00 in the world's zone, US holidays off), in
  an early and a late shift; work that arrives out of hours waits until opening;
- the first human response takes a business-time delay that depends on tier and priority (Platinum
  fastest, Standard slowest; priority 5 fastest), with log-normal noise, slow-downs during arrival spikes
  and a few forgotten conversations that breach badly;
- bot-first conversations (messaging networks mostly) get bot responses, then are either contained (closed
  by the bot) or handed off to an agent; during a failing automation incident the hand-off is automatic.

Ground truth (``World.truth``) is written from the generating arrays, not recomputed from the tables, so a
metric engine that reads the exports can be checked against it.

Modules, in the order the world is made: :mod:`.reference` (reference data and behaviour knobs),
:mod:`.arrivals` (arrivals and incident placement), :mod:`.service` (how each conversation unfolds),
:mod:`.tables` (the conversation exports), :mod:`.agents`, :mod:`.authors`, :mod:`.automation` (bots and
incidents), :mod:`.truth`; :mod:`.generate` runs them; :mod:`.vectors` holds the shared vectorised helpers.
"""

from dashboard.simulator.world.generate import generate_world
from dashboard.simulator.world.model import World, WorldConfig
from dashboard.simulator.world.reference import BOTS, TIERS

__all__ = ["BOTS", "TIERS", "World", "WorldConfig", "generate_world"]
