"""Lost state never duplicates a sale (DESIGN §6).

The state table can lose what it knew: a table restored to an earlier point, recreated by a stack change,
emptied, a local run restarted from an older save. An order with no record there may then already have its
sale in the ERP, and creating it again would duplicate it. So an order with no record is created only when
the ERP is known not to hold its ExternalID:

- The store keeps an epoch (`StateStore.epoch`): when it began. Every order the service has touched since
  then has its record in it, so an order *created* since then cannot have an ERP sale the store does not
  know of. That is the steady state, and it costs no ERP call.
- An order created before the epoch is checked. Once per epoch the ERP's sales created since the epoch
  minus `LOOKBACK` (what the first order poll re-reads, with margin) are listed, one `saleList` page per
  1000 sales, and their ExternalIDs recorded in the store; each such order is then one table read. An
  order older than that reach is looked up by its own ExternalID (one call).
- Until the epoch has settled (`settle_seconds` after it was written: the longest a worker of the lost
  store can still be inside its last ERP call), those orders wait: a listing taken earlier could miss a
  create that lands later.

Clocks: the storefront stamps orders by its own clock, in whole seconds, and that clock may run ahead of
ours. So when a store found itself empty (its epoch written by a worker, to settle), an order stamped up to
`CLOCK_SKEW` after the epoch is still checked: it may predate the loss. A store provisioned or restored by
the service itself begins settled (nothing of it can be in flight) and needs no such margin. The lookback's
reach keeps the same margin between the storefront's and the ERP's clocks.
"""

from __future__ import annotations

from datetime import timedelta

from shared.adapters.aws.state import StateStore
from shared.domain.orders import StorefrontOrder
from shared.errors import Throttled
from shared.flows.order_poll import FIRST_RUN_LOOKBACK
from shared.observability import logger
from shared.ports import Clock, Erp

CLOCK_SKEW = timedelta(minutes=5)
LOOKBACK = FIRST_RUN_LOOKBACK + timedelta(hours=1)


class StateSettling(Throttled):
    """The store began moments ago; work of the store it replaces may still land in the ERP. The order is
    tried again once that cannot happen any more (a deferral, not a failure)."""

    def __init__(self, message: str, retry_after_seconds: float) -> None:
        super().__init__(message, system="state", retry_after_seconds=retry_after_seconds)


class LostStateCheck:
    def __init__(
        self, erp: Erp, store: StateStore, clock: Clock, *, external_id_prefix: str, settle_seconds: float
    ) -> None:
        self.erp = erp
        self.store = store
        self.clock = clock
        self.prefix = external_id_prefix
        self.settle_seconds = settle_seconds

    def erp_may_hold(self, order: StorefrontOrder, external_id: str) -> bool:
        """For an order the store has no record of: False if the ERP certainly holds no sale with this
        ExternalID (create it), True if it may (look it up by ExternalID and adopt what is there)."""
        now = self.clock.now()
        epoch = self.store.epoch(now, self.settle_seconds)
        created = order.created_at
        margin = CLOCK_SKEW if epoch.settled_at > epoch.started_at else timedelta(0)
        if created is not None and created >= epoch.started_at.replace(microsecond=0) + margin:
            return False
        if now < epoch.settled_at:
            wait = (epoch.settled_at - now).total_seconds()
            raise StateSettling(
                f"order {order.id} predates the state store, which began at {epoch.started_at:%H:%M:%S}: "
                f"checked against the ERP in {wait:.0f} s",
                wait,
            )
        since = epoch.started_at - LOOKBACK
        if created is None or created - CLOCK_SKEW < since:
            return True
        if self.store.erp_scan_since(epoch) is None:
            sales = self.erp.sales_created_since(since, self.prefix)
            self.store.record_erp_scan(epoch, since, now, sales)
            logger.info(
                "ERP sales listed for a new state store",
                extra={
                    "since": since.isoformat(),
                    "sales": len(sales),
                    "epoch": epoch.started_at.isoformat(),
                },
            )
        return self.store.erp_sale_known(external_id)
