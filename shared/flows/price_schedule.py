"""The start of a price run (functions/price_sync): no ERP or Oro call, one `price_list` step per mapping
queued for `price_push` (shared/flows/prices.py, whose `PriceWork` messages these are), and one
`product_data` step when Oro owns a product attribute or creates ERP products (shared/flows/products.py).

Runs that read everything (an Oro list compared with Cin7; a full read of Cin7's products) happen inside
`prices.full_run_window` when one is set; Cin7 products changed since the last run move at any time.
"""

from __future__ import annotations

from datetime import timedelta

from shared.adapters.aws.state import StateStore
from shared.config import Config, PriceDirection
from shared.domain.prices import in_window
from shared.ports import Clock, WorkQueue

FULL_RUN_EVERY = timedelta(hours=20)
PRODUCT_CLAIM_SECONDS = 300  # a product step queued but never run stops holding back the next after this  # a full read at most once a day (inside the window, if any)


def start_run(config: Config, state: StateStore, queue: WorkQueue, clock: Clock) -> dict[str, int]:
    now = clock.now()
    window_open = in_window(config.prices.full_run_window, now)
    queued = skipped = 0
    for index, mapping in enumerate(config.price_lists):
        full = False
        if mapping.direction is PriceDirection.ORO_TO_ERP:
            if not window_open:
                skipped += 1
                continue
        else:
            last_full = state.get_watermark(f"pricefull:{index}")
            full = window_open and (last_full is None or now - last_full >= FULL_RUN_EVERY)
            if full:
                state.set_watermark(f"pricefull:{index}", now)
        queue.send({"kind": "price_list", "mapping": index, "full": full, "started_at": now.isoformat()})
        queued += 1
    # shared/flows/products.py PRODUCT_DATA; not when one is queued already (an Oro product webhook's)
    if config.products.active and state.claim_refresh("products", now, PRODUCT_CLAIM_SECONDS):
        queue.send({"kind": "product_data"})
        queued += 1
    return {"queued": queued, "skipped_outside_window": skipped}
