"""Sandbox OroCommerce back-office API: an HTTP server that behaves like the real JSON:API (6.1 LTS).

Written from `reference/orocommerce-api.md`, independently of the project's `shared/` package (a second reading
of the API). Standard library plus httpx (webhook deliveries, demo seeding).

Python API::

    from sandbox.oro.server import OroSandbox
    sb = OroSandbox(port=0, client_id="id", client_secret="secret", token_ttl=3600).start()
    ... sb.base_url / sb.api_url / sb.token_url / sb.control_url ...
    sb.stop()

Command line: ``orosync sandbox oro --port 8081 --client-id ID --client-secret S [--seed demo] ...``.

Control API (no auth, never counted as API calls), under ``/__sandbox/``:

- ``GET health``; ``POST reset`` (body ``{"seed": "demo"}`` optional); ``GET state``
- ``POST orders/{id}/internal-status {"status": "pending|open|processing|cancelled|closed"}``
  (back-office action: bumps updatedAt, fires order.updated); ``POST quotes/{id}/status`` and
  ``POST rfqs/{id}/status`` with ``{"internalStatus": .., "customerStatus": ..}``
- ``GET webhook-deliveries`` (``?topic=&messageId=&webhookId=&outcome=``), ``DELETE webhook-deliveries``,
  ``POST webhook-deliveries/wait {"timeout": 10}``
- ``GET|POST|DELETE faults`` (see ``faults.py`` for the rule schema); ``{"batch_fail_ids": {"inventorylevels":
  ["12", "15"]}}`` makes the Batch API refuse those records (errors at their ``/data/N``, the others applied,
  the operation ``success`` with ``errorCount`` = the refused records)
- ``POST products {"products": [{"sku": "S-00001", "units": [["each", "1"], ["case", "12"]]}, ...]}``: bulk seed
  for big catalogues (20,000 products in about a second): enabled simple products named after their SKU (or
  ``name``), their unit precisions (``[code, conversionRate(, precision)]``, the first one primary) and an
  inventory level per unit at quantity 0, written straight into the store (no webhooks); an unknown unit code
  becomes a ``productunits`` record. All or nothing; answers the counts created
- ``POST product-prices {"priceList": "4", "prices": [{"sku": "S-00001", "unit": "each", "quantity": 1, "value":
  "12.5", "currency": "USD"}, ...]}``: bulk seed of one price list (10,000 prices in about 0.2 s), checked as the
  API checks them (the SKU exists, the product has the unit, the currency is the list's, decimals of 0 or more,
  unique per product, unit, quantity and currency), no webhooks, all or nothing; answers the count created.
  ``GET productprices`` needs ``filter[priceList]`` (one id, ``=``) and finds the list's prices through an index
- ``POST categories {"title": "Fasteners", "parent": "1"}`` (parent optional): a category with its default title
  (``categories`` and ``categorytitles`` are read-only in Oro's API); answers its id

Products carry ``names`` (``productnames``), ``descriptions`` (``productdescriptions``, ``wysiwyg: {value, ..}``),
``brand`` (``brands``, names in ``localizedfallbackvalues``), ``category`` (``categories.titles``) and
``productShippingOptions`` (``productshippingoptions``: weight and dimensions per unit); a changed name or
description moves its product's ``updatedAt`` and fires ``product.updated``. The Batch API on ``productprices``
mixes updates (``meta.update`` and the price's id) and creates (no meta); ``batch_fail_ids`` works for it too.
Customers carry ``addresses`` (``customeraddresses``: ``customer`` required and fixed after create, ``country``
required, ``types`` ``[{"addressType": "billing"|"shipping", "default": bool}]``, one ``primary`` per customer;
filters ``customer``, ``country``, ``region``, ``customRegion``, ``addressType``). Price lists are assigned with
``pricelisttocustomers`` / ``pricelisttocustomergroups`` (``sortOrder`` required, the lowest first in Oro's chain;
``mergeAllowed``; unique per price list, website and customer or group; filters by owner, ``priceList``,
``website``). ``customer.created`` / ``customer.updated`` are sent for customer writes.
- ``GET|POST config`` (external_status_management, default_page_size, max_page_size, webhook_includes,
  token_ttl, batch_delay, batch_paused, default_internal_status, taxation); ``POST batch {"paused": true}``.
  ``taxation`` is Oro's tax calculation: ``null`` (off, the start state: no ``tax`` row in an order's
  ``ordersubtotals``, no tax in ``totalValue``) or ``{"rates": {"<product tax code>": "10"},
  "shipping_percent": "10"}`` (each line's row total taxed at its product's code, before order discounts, plus
  the shipping cost; orders written meanwhile get a ``tax`` subtotal and it is added to ``totalValue``). ``max_page_size`` (constructor
  argument, ``--max-page-size``) caps every list page as Oro's ``max_entities`` does: a page asked for with a
  larger ``page[size]`` comes back shorter, and its links still carry ``next`` while records follow
- ``GET|POST clock`` (``{"advance_seconds": n}`` / ``{"offset_seconds": n}``), ``POST tokens`` (a token without
  the OAuth call), ``POST tokens/revoke``, ``POST oauth-client {"client_secret": ..}`` (a new secret:
  the old one is refused 401 invalid_client); ``GET|DELETE stats`` (API call counts per endpoint)
"""

from .server import OroSandbox

__all__ = ["OroSandbox"]
