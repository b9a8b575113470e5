"""Customer rules (DESIGN §4.5): which Oro accounts are onboarded, where a sub-account bills, how an ERP customer
is matched, what a new one carries, and when finance has approved it. Pure: no I/O.

- **Path**: the Oro tree from the top-level account down to the account (`account_path`); a parent chain that
  comes back to an account it passed is a cycle (`HierarchyCycle`), never followed round.
- **Scope** (`customers.onboard`): top-level accounts, all, or those in given customer groups. In
  `child_customers` mode every account below an onboarded one gets its own ERP customer too, as a child of
  the top-level one (Cin7 holds one level of parent and child).
- **Match** (`match_by_name`): Cin7's `Name` filter is a prefix search and its names are unique regardless
  of case, so only an exact, case-insensitive match counts: `Acme` never matches `Acme Holdings`.
- **Fingerprint** (`oro_fingerprint`): of what Oro owns on the ERP customer (name, addresses, contacts), so
  a change in Oro is sent once and finance's fields (terms, credit, tier, hold) are never part of an update.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.config import Config, CustomerHierarchy, Onboarding


class HierarchyCycle(ValueError):
    def __init__(self, chain: Sequence[str]) -> None:
        super().__init__(f"the Oro account tree loops (account -> its parent): {' -> '.join(chain)}")
        self.chain = tuple(chain)


@dataclass(frozen=True)
class Account:
    """An Oro account as the rules need it."""

    id: str
    name: str
    parent_id: str | None = None
    group_id: str | None = None
    external_id: str | None = None


@dataclass(frozen=True)
class CustomerAddress:
    line1: str
    line2: str = ""
    city: str = ""
    state: str = ""
    postcode: str = ""
    country: str = ""
    type: str = "Business"  # Billing | Business | Shipping
    default: bool = False


@dataclass(frozen=True)
class CustomerContact:
    name: str
    email: str = ""
    phone: str = ""
    default: bool = False


@dataclass(frozen=True)
class OroOwned:
    """What Oro owns on the ERP customer (DESIGN §2): its name, addresses and contacts."""

    name: str
    addresses: tuple[CustomerAddress, ...] = ()
    contacts: tuple[CustomerContact, ...] = ()
    problems: tuple[str, ...] = field(default=())  # addresses or contacts left out, and why


def account_path(account_id: str, parent_of: Mapping[str, str | None]) -> tuple[str, ...]:
    """The ids from the top-level account down to `account_id`. `parent_of` holds every account on the way
    (the caller reads them); raises HierarchyCycle if the chain comes back to an account it passed."""
    chain = [account_id]
    current = parent_of.get(account_id)
    while current is not None:
        if current in chain:
            raise HierarchyCycle([*chain, current])
        chain.append(current)
        current = parent_of.get(current)
    return tuple(reversed(chain))


def onboarded_itself(account: Account, path: Sequence[str], config: Config) -> bool:
    """Whether the account is one `customers.onboard` names (a root of onboarding)."""
    scope = config.customers.onboard
    if scope is Onboarding.NONE:
        return False
    if scope is Onboarding.ALL:
        return True
    if scope is Onboarding.TOP_LEVEL:
        return len(path) == 1
    return account.group_id is not None and account.group_id in config.customers.groups


def as_child(path: Sequence[str], config: Config) -> bool:
    """In child_customers mode, a sub-account gets its own ERP customer under its top-level one."""
    return config.customers.hierarchy is CustomerHierarchy.CHILD_CUSTOMERS and len(path) > 1


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


def erp_name(name: str) -> str:
    """The ERP customer name for an Oro account name: whitespace collapsed (Cin7 keeps 256 characters)."""
    return " ".join(name.split())[:256]


def match_by_name(name: str, candidates: Iterable[Any]) -> Any | None:
    """The candidate (anything with `.Name`) whose name equals `name` exactly, ignoring case and spacing."""
    wanted = _key(name)
    return next((c for c in candidates if _key(str(c.Name)) == wanted), None)


def oro_fingerprint(owned: OroOwned) -> str:
    body = json.dumps(
        {
            "name": owned.name,
            "addresses": [a.__dict__ for a in owned.addresses],
            "contacts": [c.__dict__ for c in owned.contacts],
        },
        sort_keys=True,
    )
    return hashlib.sha256(body.encode()).hexdigest()[:32]


def address_body(address: CustomerAddress, existing_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Line1": address.line1,
        "Line2": address.line2,
        "City": address.city,
        "State": address.state,
        "Postcode": address.postcode,
        "Country": address.country,
        "Type": address.type,
        "DefaultForType": address.default,
    }
    if existing_id:
        body["ID"] = existing_id
    return body


def contact_body(contact: CustomerContact, existing_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Name": contact.name,
        "Email": contact.email,
        "Phone": contact.phone,
        "Default": contact.default,
    }
    if existing_id:
        body["ID"] = existing_id
    return body


def new_customer_body(
    owned: OroOwned,
    oro_id: str,
    config: Config,
    *,
    price_tier: str | None,
    parent: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """The POST /customer body of a new ERP customer: Oro's name, addresses and contacts, finance's
    defaults, on hold (credit hold, or the on-hold payment term), the Oro id in the configured attribute.
    `parent` is (ERP id, name) of its ERP parent in child_customers mode."""
    settings = config.customers
    defaults = settings.defaults
    if defaults is None:  # the config refuses onboarding without defaults
        raise ValueError("customers.defaults is not set")
    on_hold_term = settings.hold == "payment_term"
    body: dict[str, Any] = {
        "Name": owned.name,
        "Status": "Active",
        "Currency": defaults.currency or config.erp.base_currency or "USD",
        "PaymentTerm": settings.on_hold_payment_term if on_hold_term else defaults.payment_term,
        "AccountReceivable": defaults.account_receivable,
        "RevenueAccount": defaults.revenue_account,
        "TaxRule": defaults.tax_rule,
        "IsOnCreditHold": not on_hold_term,
        settings.oro_id_attribute: oro_id,
        "Addresses": [address_body(a) for a in owned.addresses],
        "Contacts": [contact_body(c) for c in owned.contacts],
    }
    tier = price_tier or defaults.price_tier
    if tier:
        body["PriceTier"] = tier
    if parent is not None:
        body["CustomerParentID"], body["CustomerParentName"] = parent
        body["IsBillParent"] = True
    return body


def update_body(
    erp_id: str, owned: OroOwned, current: Any, *, parent: tuple[str, str] | None = None
) -> dict[str, Any]:
    """The PUT /customer body that makes the ERP customer carry what Oro owns, and nothing of finance's.
    Addresses and contacts already there (same line 1 and type; same name) keep their ERP id and are updated;
    others are added. `current` is the ERP customer as read (a Cin7Customer)."""
    addresses = {(_key(a.Line1 or ""), a.Type or ""): a.ID for a in current.Addresses}
    contacts = {_key(c.Name or ""): c.ID for c in current.Contacts}
    body: dict[str, Any] = {
        "ID": erp_id,
        "Name": owned.name,
        "Addresses": [address_body(a, addresses.get((_key(a.line1), a.type))) for a in owned.addresses],
        "Contacts": [contact_body(c, contacts.get(_key(c.name))) for c in owned.contacts],
    }
    if parent is not None:
        body["CustomerParentID"], body["CustomerParentName"] = parent
    return body


def approved(customer: Any, config: Config) -> bool:
    """Whether finance has released a customer created on hold: the credit hold is off and, where the
    hold is a payment term, the term is no longer that one."""
    if customer.IsOnCreditHold:
        return False
    term = config.customers.on_hold_payment_term
    return not (config.customers.hold == "payment_term" and term and customer.PaymentTerm == term)
