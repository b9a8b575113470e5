"""The catalogue of named exceptions (DESIGN §5): the single source for handlers, CLI, alarms and the guide.

An exception is a business problem that a person must look at, not a Python exception. Each type has an
owner team, whether it blocks the order, how it resolves itself, and a one-paragraph runbook.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Owner(StrEnum):
    FINANCE = "finance"
    OPERATIONS = "operations"
    ECOMMERCE = "ecommerce"
    CUSTOMER_SERVICE = "customer_service"


PERSON_RESOLVES = "a person resolves it"  # `auto_resolves_when` of the types only `exceptions resolve` closes


@dataclass(frozen=True)
class ExceptionType:
    code: str
    owner: Owner
    blocks_order: bool
    auto_resolves_when: str
    runbook: str
    # How long it may stay open before it alarms (`ExceptionsPastSla`) and heads its owner's digest.
    sla_hours: int = 24
    # The command that resolves it, `{id}` being the entity's id (`order:1042` -> 1042); empty: the default
    # (`resolve_command`).
    command: str = ""


_TYPES = (
    ExceptionType(
        "CUSTOMER_UNMAPPED",
        Owner.FINANCE,
        True,
        "the Oro account or one of its ancestors gets an ERP customer binding",
        "The order's Oro account has no ERP customer, nor does any account above it. Find or create the "
        "customer in the ERP (never twice: search by name first), then bind it with `orosync customers map`. "
        "Held orders for the account are released automatically.",
        sla_hours=24,
        command="orosync customers map ORO_CUSTOMER ERP_CUSTOMER  (then the held orders release themselves)",
    ),
    ExceptionType(
        "CUSTOMER_PENDING_APPROVAL",
        Owner.FINANCE,
        True,
        "finance clears the credit hold (or the on-hold payment term) on the new ERP customer",
        "A new Oro account was created in the ERP on credit hold (`customer:<Oro id>`), and its orders are held "
        "(`order:<id>`) until finance approves it. Review the customer's terms, credit limit and price tier in "
        "the ERP, then clear the hold there (or change the on-hold payment term). The service sees it by "
        "Cin7's Customer/Updated webhook or its next poll, and releases the held orders by itself, each once. "
        "`orosync customers list --pending` lists what waits.",
        sla_hours=48,
        command="clear the credit hold in Cin7; `orosync customers list --pending` lists what waits",
    ),
    ExceptionType(
        "CUSTOMER_DUPLICATE_NAME",
        Owner.FINANCE,
        False,
        "the Oro account is renamed, or the ERP customer of that name is bound to it",
        "An Oro account's name is already taken in the ERP by a customer that belongs to another Oro account "
        "(ERP customer names are unique), so nothing was created and its orders stay CUSTOMER_UNMAPPED. Rename "
        "one of the accounts in Oro (the next sync onboards it), or bind it to the right ERP customer with "
        "`orosync customers map`.",
        sla_hours=48,
        command="rename the Oro account, or orosync customers map {id} ERP_CUSTOMER",
    ),
    ExceptionType(
        "CUSTOMER_REJECTED",
        Owner.OPERATIONS,
        False,
        "the account is onboarded or updated on a later run",
        "The ERP refused to create or update the customer for an Oro account (its message is in the detail: "
        "often a `customers.defaults` name the ERP does not know, such as a payment term or tax rule, or an "
        "address without a country), or the Oro account cannot be read as one. Fix the config or the account, "
        "then `orosync customers onboard <Oro id>`.",
        sla_hours=24,
        command="fix customers.defaults or the Cin7 setting named, then orosync customers onboard {id}",
    ),
    ExceptionType(
        "CUSTOMER_HIERARCHY_CYCLE",
        Owner.ECOMMERCE,
        False,
        "the Oro account tree has no cycle any more",
        "The Oro account's parents lead back to itself, so it has no top-level account to bill. Fix the parent "
        "in Oro (Customers → the account → Parent Customer); the next sync places it.",
        sla_hours=48,
    ),
    ExceptionType(
        "CUSTOMER_ON_HOLD",
        Owner.FINANCE,
        False,
        "the ERP customer is taken off credit hold and the order is synced again",
        "The ERP customer is on credit hold, so the sale was created as DRAFT and not authorised. Clear the "
        "hold in the ERP and release the order, or cancel it in Oro.",
        sla_hours=24,
    ),
    ExceptionType(
        "UOM_UNMAPPED",
        Owner.OPERATIONS,
        True,
        "a unit mapping for the SKU and unit appears in the config",
        "An order line uses an Oro unit (case, pallet…) with no mapping to an ERP SKU and factor. Add it under "
        "`units.<SKU>.<unit>` in the config and deploy; held orders are released automatically.",
        sla_hours=8,
    ),
    ExceptionType(
        "UOM_MISMATCH",
        Owner.OPERATIONS,
        True,
        "the order passes on its next run (after the mapping or the Oro unit is corrected and the order released)",
        "An order line's unit mapping disagrees with Oro: it sends the unit as the same ERP SKU as the product's "
        "primary unit, but its factor is not Oro's conversionRate for the unit (times the primary unit's "
        "factor), or it turns the line's quantity into one the ERP cannot hold (more than 4 decimals). Correct "
        "`units.<SKU>.<unit>` in the config or the unit in Oro, then release the order with `orosync orders "
        "release`. A unit mapped to an ERP product of its own (a case SKU, factor 1) is not compared.",
        sla_hours=24,
    ),
    ExceptionType(
        "PRICE_MISMATCH",
        Owner.FINANCE,
        True,
        "finance releases the order (accepting the storefront price) or the prices agree",
        "In `erp` pricing mode a line's price differs from what the ERP charges the customer (its own price for "
        "the product, else its tier's price less its discount) beyond tolerance. Fix the price list, or release with `orosync orders release ORDER --accept-storefront-price`.",
        sla_hours=8,
        command="orosync orders release {id} --accept-storefront-price  (or fix the contract price and orosync orders release {id})",
    ),
    ExceptionType(
        "PRICE_DRIFT",
        Owner.FINANCE,
        False,
        "the next order for the SKU and tier agrees",
        "In `storefront` mode the Oro price was sent, but the ERP tier price differs beyond tolerance. Align the "
        "Oro price list and the ERP tier so invoices and the storefront agree.",
        sla_hours=72,
    ),
    ExceptionType(
        "TAX_MISMATCH",
        Owner.FINANCE,
        True,
        "the tax code is mapped or the totals agree on the next run",
        "A line's tax code has no ERP tax rule mapping, or the sale's tax at the ERP's rules differs from the "
        "tax the storefront computed for the order by more than a cent (the detail gives both). Map the code "
        "under `tax.rules`, or align the storefront's tax rates (or the order's tax codes) with the ERP's "
        "rules, then release the order with `orosync orders release`.",
        sla_hours=8,
    ),
    ExceptionType(
        "CURRENCY_MISMATCH",
        Owner.FINANCE,
        True,
        "the order passes on its next run (after the customer or the order currency is corrected)",
        "The order's currency is not the currency its ERP customer is invoiced in; the service never converts "
        "an order. Bind the Oro account to an ERP customer in that currency (`orosync customers map`), or have "
        "the order re-placed in the customer's currency, then release it with `orosync orders release`.",
        sla_hours=8,
    ),
    ExceptionType(
        "CURRENCY_RATE_MISSING",
        Owner.FINANCE,
        True,
        "the order passes on its next run (after the rate is configured and the order released)",
        "The ERP customer is invoiced in a currency other than the ERP's base currency (`erp.base_currency`), "
        "so its sale needs a currency rate, and `erp.currency_rates` has none for it. Add the rate finance "
        "uses, deploy and release the order with `orosync orders release`.",
        sla_hours=8,
    ),
    ExceptionType(
        "CHARGE_UNMAPPED",
        Owner.OPERATIONS,
        True,
        "the order passes on its next run (after the charge is configured and the order released)",
        "The order carries an order-level amount (shipping, or the rounding that keeps its total exact when a "
        "price per ERP unit needs more than 4 decimals) and no ERP service product is configured for it. Add "
        "it under `erp.charges` in the config, deploy and release the order with `orosync orders release`.",
        sla_hours=8,
    ),
    ExceptionType(
        "ORDER_INVALID",
        Owner.ECOMMERCE,
        True,
        "the order passes on its next run (after it is corrected in Oro)",
        "The Oro order cannot become an ERP sale as it stands: its lines do not add up to its subtotal, its "
        "discount exceeds its lines, or the document lacks a field a sale needs (the detail names it). Correct "
        "the order in Oro; the change brings it back, or release it with `orosync orders release`.",
        sla_hours=8,
    ),
    ExceptionType(
        "SKU_UNKNOWN",
        Owner.ECOMMERCE,
        True,
        "the SKU appears in the ERP",
        "An order line's SKU does not exist in the ERP. Create the product in the ERP or fix the Oro SKU.",
        sla_hours=8,
    ),
    ExceptionType(
        "SKU_DRIFT",
        Owner.ECOMMERCE,
        False,
        "the SKU exists on both sides",
        "A SKU exists in one system and not the other; stock and prices for it cannot be synced.",
        sla_hours=72,
    ),
    ExceptionType(
        "ORDER_ORPHANED",
        Owner.OPERATIONS,
        False,
        "the order is synced, held or filtered with a reason",
        "Reconciliation found a confirmed Oro order with no ERP sale and no reason; it was re-enqueued.",
        sla_hours=2,
    ),
    ExceptionType(
        "ORDER_GHOST",
        Owner.OPERATIONS,
        False,
        "the sale is bound to its Oro order",
        "The ERP has a sale carrying this service's ExternalID but no binding here. Check for a manual copy.",
        sla_hours=24,
    ),
    ExceptionType(
        "TOTAL_MISMATCH",
        Owner.FINANCE,
        False,
        "the totals agree on the next reconciliation",
        "The Oro order total and the ERP sale total differ. Compare lines, tax and freight.",
        sla_hours=24,
    ),
    ExceptionType(
        "CANCEL_AFTER_FULFILMENT",
        Owner.CUSTOMER_SERVICE,
        False,
        "a person handles the return or credit",
        "The Oro order was cancelled after the ERP sale was (partly) fulfilled, so it cannot be voided. Arrange "
        "a return or credit note with the customer, then close it with `orosync exceptions resolve "
        "CANCEL_AFTER_FULFILMENT order:<id> --note '...'`.",
        sla_hours=24,
    ),
    ExceptionType(
        "ORDER_CHANGED_AFTER_SYNC",
        Owner.CUSTOMER_SERVICE,
        False,
        "the Oro order is changed back to what the ERP sale holds, or a person resolves it",
        "The Oro order's lines, customer, PO number, discount or shipping changed after its ERP sale was "
        "authorised; the service never rewrites an authorised sale (a DRAFT sale follows the order). Apply the change to the ERP sale by hand (or "
        "cancel and re-place the order), then `orosync exceptions resolve ORDER_CHANGED_AFTER_SYNC order:<id> "
        "--note '...'`.",
        sla_hours=24,
    ),
    ExceptionType(
        "ORDER_DELETED",
        Owner.CUSTOMER_SERVICE,
        False,
        PERSON_RESOLVES,
        "The Oro order was deleted after its ERP sale was authorised, so stock stays committed to it. Ask who "
        "deleted it and why; void the ERP sale by hand (or keep it, if the order stands), then "
        "`orosync exceptions resolve ORDER_DELETED order:<id> --note '...'`. A DRAFT sale of a deleted order "
        "is voided by the service itself.",
        sla_hours=24,
    ),
    ExceptionType(
        "ERP_REJECTED",
        Owner.OPERATIONS,
        True,
        "the order passes on its next run (after the data is fixed and the order released)",
        "The ERP refused the sale with a data error (its message is in the detail). Fix the data it names "
        "(product, customer, location, tax rule) and release the order with `orosync orders release`.",
        sla_hours=4,
    ),
    ExceptionType(
        "STOCK_NEGATIVE",
        Owner.OPERATIONS,
        False,
        "the ERP availability is no longer negative",
        "The ERP reports negative availability for a SKU; Oro is sent 0. Correct the stock in the ERP.",
        sla_hours=24,
    ),
    ExceptionType(
        "PRICE_BREAK_UNSUPPORTED",
        Owner.FINANCE,
        False,
        "the price list no longer holds a price the ERP cannot take",
        "An Oro price list synced to an ERP tier holds a price the tier cannot hold: a quantity break (a price "
        "from a quantity above 1), or a unit priced differently per base unit than the smaller unit the tier "
        "takes (a case discount). The tier keeps the quantity-1 price of the smallest unit; put the break on a "
        "customer's price or an ERP discount, or accept that invoices show the tier price.",
        sla_hours=168,
    ),
    ExceptionType(
        "PRODUCT_INCOMPLETE",
        Owner.ECOMMERCE,
        False,
        "a later product run finds the product complete",
        "An Oro product lacks something orders for it need, found before any order is held for it: a unit "
        "mapping for its primary unit (`units.<SKU>.<unit>`), an ERP tax rule for its tax code (`tax.rules`), "
        "or an ERP product with its SKU (create it, or turn on `products.create_in_erp`). The detail also names "
        "product data that could not be sent (a weight or size unit the ERP does not have, a write the ERP "
        "refused). Fix it in the config, Oro or the ERP; the next price run re-checks the product.",
        sla_hours=72,
    ),
    ExceptionType(
        "STOCK_UNIT_UNMAPPED",
        Owner.ECOMMERCE,
        False,
        "the unit is mapped and the Oro product has it",
        "A unit that carries inventory (`stock.units_carrying_inventory`) cannot be given a level: the Oro "
        "product sells in it without a unit mapping, or it is mapped but the Oro product lacks the unit. Add "
        "`units.<SKU>.<unit>` to the config, or the unit to the product in Oro; the next stock run sets it.",
        sla_hours=72,
    ),
    ExceptionType(
        "ORDER_VOIDED_IN_ERP",
        Owner.CUSTOMER_SERVICE,
        False,
        PERSON_RESOLVES,
        "The order's Cin7 sale was voided in Cin7 while the Oro order is still open, so the buyer sees an order "
        "that will not ship. Find out why (out of stock, a duplicate, the customer cancelled by phone), then "
        "cancel the order in Oro or re-place it, and `orosync exceptions resolve ORDER_VOIDED_IN_ERP "
        "order:<id> --note '...'`.",
        sla_hours=8,
    ),
    ExceptionType(
        "WEBHOOK_DISABLED",
        Owner.OPERATIONS,
        False,
        "the webhook is active again",
        "A webhook subscription was switched off by the sending system after failed deliveries, or is missing. "
        "Re-enable it (`orosync webhooks ensure`); the scheduled run covered the gap.",
        sla_hours=4,
        command="orosync webhooks ensure --config PATH --url API_URL",
    ),
)

CATALOGUE: dict[str, ExceptionType] = {t.code: t for t in _TYPES}


def exception_type(code: str) -> ExceptionType:
    try:
        return CATALOGUE[code]
    except KeyError:
        raise KeyError(f"{code!r} is not in the exceptions catalogue") from None


def resolve_command(code: str, entity: str) -> str:
    """The command an owner runs once the cause is fixed (sent with the alert, shown in the digest)."""
    t = exception_type(code)
    kind, _, ident = entity.partition(":")
    if t.command:
        return t.command.replace("{id}", ident or entity)
    if t.blocks_order and kind == "order":
        return f"orosync orders show {ident}  (fix the cause, then orosync orders release {ident})"
    if PERSON_RESOLVES in t.auto_resolves_when and not t.blocks_order:
        return f"orosync exceptions resolve {code} {entity} --note '...'"
    return ""  # fixing the cause closes it (`auto_resolves_when`)


def as_markdown() -> str:
    """The catalogue as the operations guide's table (docs/operations.md embeds it verbatim)."""
    rows = [
        "| code | owner | blocks the order | SLA | resolves itself when | what to do |",
        "|---|---|---|---|---|---|",
    ]
    for t in _TYPES:
        command = resolve_command(t.code, "order:<id>" if t.blocks_order else "<entity>")
        then = f" Then: `{command}`." if command else ""
        rows.append(
            f"| `{t.code}` | {t.owner.value} | {'yes' if t.blocks_order else 'no'} | {t.sla_hours} h | "
            f"{t.auto_resolves_when} | {t.runbook}{then} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    print(as_markdown())
