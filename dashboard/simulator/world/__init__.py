"""One seeded, deterministic Khoros Care world: every export and API answer of the simulator is a view of it.

The world covers ``[start, end)`` (``start`` = ``end - days`` unless given). Conversations are generated stage by
stage as numpy arrays (one element per conversation; a stage is a bot turn, an assignment, a customer follow-up
burst, a close...), so the default world (90 days x 400 conversations a day) builds in a second or two and 5,000 a
day stays practical. Events are generated as they *would* happen and then cut at ``now``: whatever lies after
``now`` has not happened yet, which is what leaves a realistic open backlog.

**Prefix-stable.** A world of the same seed, size, zone and start that ends later is the same world up to the
earlier end (every event before it identical; a conversation open at the earlier end may go on after it): every
random value is a keyed draw (:mod:`.draws`) — of the conversation (its arrival hour and place in it), the author
(its first conversation), the agent, the (agent, day), the week (spikes, incidents), the request record — never a
position in one shared sequence; arrivals, spikes and incidents sit on the absolute calendar; authors come back
only from earlier conversations; routing places assignments in time order. So the demo's clock advances by syncing
the new days of a longer world (``dashboard/source.py``). ``tests/test_simulator_prefix.py`` states it precisely.
The company closes every conversation a week after it started (``reference.LIFETIME``), so a conversation's row
is final a week after its creation, as the sync's settle margin assumes.

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
:mod:`.arrivals` (arrivals, spikes and incident placement), :mod:`.service` (how each conversation unfolds),
:mod:`.tables` (the conversation exports), :mod:`.agents`, :mod:`.authors`, :mod:`.automation` (bots and
incidents), :mod:`.truth`; :mod:`.generate` runs them; :mod:`.vectors` holds the shared vectorised helpers and
:mod:`.draws` the keyed random draws.
"""

from dashboard.simulator.world.generate import generate_world
from dashboard.simulator.world.model import GENERATOR, MAX_SPAN, World, WorldConfig
from dashboard.simulator.world.reference import BOTS, TIERS

__all__ = ["BOTS", "GENERATOR", "MAX_SPAN", "TIERS", "World", "WorldConfig", "generate_world"]
