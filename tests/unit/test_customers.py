"""Customer rules (shared/domain/customers.py): the account path and its cycles, scope, exact-name matching
(Cin7's Name filter is a prefix search), what a new ERP customer carries, and what an update never touches."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.adapters.cin7.models import Cin7Customer
from shared.config import load_config, parse_config
from shared.domain.customers import (
    Account,
    CustomerAddress,
    CustomerContact,
    HierarchyCycle,
    OroOwned,
    account_path,
    approved,
    as_child,
    erp_name,
    match_by_name,
    new_customer_body,
    onboarded_itself,
    oro_fingerprint,
    update_body,
)
from shared.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example.yaml"
FINANCE_FIELDS = (
    "PaymentTerm",
    "CreditLimit",
    "PriceTier",
    "IsOnCreditHold",
    "Discount",
    "Currency",
    "TaxRule",
)


def config(**customers: object):
    data = load_config(EXAMPLE).model_dump(mode="json")
    data["customers"].update(customers)
    return parse_config(data)


def named(name: str, **kw: object) -> SimpleNamespace:
    return SimpleNamespace(Name=name, ID=kw.get("ID", "c-1"), **{k: v for k, v in kw.items() if k != "ID"})


OWNED = OroOwned(
    "Acme",
    (CustomerAddress("1 Main St", city="Springfield", country="US", type="Billing", default=True),),
    (CustomerContact("Ann Buyer", "ann@example.com", default=True),),
)


# -- the path ------------------------------------------------------------------------------------------------


def test_a_four_level_tree_is_walked_to_its_top():
    parents = {"4": "3", "3": "2", "2": "1", "1": None}
    assert account_path("4", parents) == ("1", "2", "3", "4")
    assert account_path("1", parents) == ("1",)


def test_a_cycle_is_named_and_never_followed_round():
    with pytest.raises(HierarchyCycle, match=r"loops \(account -> its parent\): 2 -> 4 -> 3 -> 2") as err:
        account_path("2", {"2": "4", "4": "3", "3": "2"})
    assert err.value.chain[0] == err.value.chain[-1]


@given(st.lists(st.integers(1, 40), min_size=1, max_size=30))
def test_any_parent_chain_ends_in_a_path_or_a_cycle(links):
    # account i's parent is links[i] (an id that may or may not exist): always a finite answer
    parents = {str(i): (str(p) if p < len(links) else None) for i, p in enumerate(links)}
    try:
        path = account_path("0", parents)
    except HierarchyCycle as cycle:
        assert len(set(cycle.chain)) == len(cycle.chain) - 1
    else:
        assert path[-1] == "0" and len(set(path)) == len(path)
        assert parents.get(path[0]) is None


# -- scope ---------------------------------------------------------------------------------------------------


def test_scope_top_level_all_and_groups():
    top, sub = Account("1", "Acme"), Account("2", "Acme East", parent_id="1", group_id="7")
    assert onboarded_itself(top, ("1",), config(onboard="top_level"))
    assert not onboarded_itself(sub, ("1", "2"), config(onboard="top_level"))
    assert onboarded_itself(sub, ("1", "2"), config(onboard="all"))
    assert onboarded_itself(sub, ("1", "2"), config(onboard="groups", groups=["7"]))
    assert not onboarded_itself(top, ("1",), config(onboard="groups", groups=["7"]))
    assert not onboarded_itself(top, ("1",), config(onboard="none"))
    assert as_child(("1", "2"), config(hierarchy="child_customers"))
    assert not as_child(("1",), config(hierarchy="child_customers"))
    assert not as_child(("1", "2"), config(hierarchy="billing_parent"))


@pytest.mark.parametrize(
    "customers, expected",
    [
        ({"onboard": "groups", "groups": []}, "customers.groups"),
        ({"hold": "payment_term"}, "customers.on_hold_payment_term"),
        ({"defaults": None}, "customers.defaults: needed"),
        ({"oro_id_attribute": "AdditionalAttribute11"}, "customers.oro_id_attribute"),
        ({"onboard": "everyone"}, "customers.onboard"),
    ],
)
def test_bad_customer_settings_are_named(customers, expected):
    with pytest.raises(ConfigError, match=expected):
        config(**customers)


# -- matching ------------------------------------------------------------------------------------------------


def test_exact_name_only_a_prefix_is_no_match():
    candidates = [named("Acme Holdings", ID="h"), named("Acme Holdings Pty", ID="p")]
    assert match_by_name("Acme", candidates) is None
    assert match_by_name("Acme Holdings", candidates).ID == "h"
    assert match_by_name("acme  holdings", candidates).ID == "h"  # Cin7 names are unique regardless of case


@given(st.text(min_size=1, max_size=30), st.text(min_size=1, max_size=10))
def test_a_longer_name_never_matches_its_prefix(name, tail):
    longer = name + tail
    if " ".join(longer.split()).casefold() != " ".join(name.split()).casefold():
        assert match_by_name(name, [named(longer)]) is None
    assert match_by_name(name, [named(name)]) is not None or not erp_name(name)


# -- what is sent ------------------------------------------------------------------------------------------


def test_a_new_customer_is_created_on_hold_with_the_oro_id_and_finance_defaults():
    body = new_customer_body(OWNED, "42", config(), price_tier=None)
    assert body["IsOnCreditHold"] is True
    assert body["AdditionalAttribute1"] == "42"
    assert (body["PaymentTerm"], body["TaxRule"], body["PriceTier"]) == (
        "30 days",
        "Tax on Sales",
        "Wholesale",
    )
    assert body["Currency"] == "USD" and body["Status"] == "Active"
    assert body["Addresses"][0]["Line1"] == "1 Main St" and body["Contacts"][0]["Email"] == "ann@example.com"
    assert "CustomerParentID" not in body


def test_the_price_list_tier_wins_and_a_child_names_its_parent():
    body = new_customer_body(OWNED, "42", config(), price_tier="Contract", parent=("p-1", "Acme Group"))
    assert body["PriceTier"] == "Contract"
    assert (body["CustomerParentID"], body["CustomerParentName"], body["IsBillParent"]) == (
        "p-1",
        "Acme Group",
        True,
    )


def test_on_hold_payment_term_instead_of_credit_hold():
    cfg = config(hold="payment_term", on_hold_payment_term="Pending approval")
    body = new_customer_body(OWNED, "42", cfg, price_tier=None)
    assert body["IsOnCreditHold"] is False and body["PaymentTerm"] == "Pending approval"
    assert not approved(SimpleNamespace(IsOnCreditHold=False, PaymentTerm="Pending approval"), cfg)
    assert approved(SimpleNamespace(IsOnCreditHold=False, PaymentTerm="30 days"), cfg)


def test_approval_is_the_credit_hold_cleared():
    assert not approved(SimpleNamespace(IsOnCreditHold=True, PaymentTerm="30 days"), config())
    assert approved(SimpleNamespace(IsOnCreditHold=False, PaymentTerm="30 days"), config())


def test_an_update_carries_what_oro_owns_and_never_finance_fields():
    current = Cin7Customer(
        ID="c-1",
        Name="Acme",
        Addresses=[{"ID": "a-1", "Line1": "1 main st", "Country": "US", "Type": "Billing"}],
        Contacts=[{"ID": "k-1", "Name": "Ann Buyer"}],
    )
    body = update_body("c-1", OWNED, current)
    assert not set(FINANCE_FIELDS) & set(body)
    assert body["ID"] == "c-1" and body["Name"] == "Acme"
    assert body["Addresses"][0]["ID"] == "a-1"  # the same address is updated, not added again
    assert body["Contacts"][0]["ID"] == "k-1"


def test_the_fingerprint_follows_what_oro_owns():
    assert oro_fingerprint(OWNED) == oro_fingerprint(OroOwned(OWNED.name, OWNED.addresses, OWNED.contacts))
    assert oro_fingerprint(OWNED) != oro_fingerprint(OroOwned("Acme Ltd", OWNED.addresses, OWNED.contacts))
    assert oro_fingerprint(OWNED) != oro_fingerprint(OroOwned(OWNED.name, (), OWNED.contacts))
