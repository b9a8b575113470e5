"""The exceptions catalogue is complete and the operations guide shows exactly it."""

from pathlib import Path

from shared.domain.exceptions_catalogue import CATALOGUE, as_markdown, exception_type

DESIGN_STARTING_SET = {
    "CUSTOMER_UNMAPPED",
    "CUSTOMER_PENDING_APPROVAL",
    "UOM_UNMAPPED",
    "PRICE_MISMATCH",
    "PRICE_DRIFT",
    "TAX_MISMATCH",
    "SKU_UNKNOWN",
    "SKU_DRIFT",
    "ORDER_ORPHANED",
    "ORDER_GHOST",
    "TOTAL_MISMATCH",
    "CANCEL_AFTER_FULFILMENT",
    "CUSTOMER_ON_HOLD",
    "STOCK_NEGATIVE",
    "WEBHOOK_DISABLED",
}


def test_catalogue_holds_the_design_starting_set_with_owner_and_runbook():
    assert DESIGN_STARTING_SET <= set(CATALOGUE)
    for t in CATALOGUE.values():
        assert t.owner and t.runbook and t.auto_resolves_when


def test_unknown_code_is_named_when_looked_up():
    try:
        exception_type("NOPE")
    except KeyError as err:
        assert "NOPE" in str(err)
    else:
        raise AssertionError("expected KeyError")


def test_operations_guide_embeds_the_catalogue_verbatim():
    guide = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
    assert as_markdown() in guide
