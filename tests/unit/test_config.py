"""The config model: the example is valid; bad keys are named with the reason."""

from pathlib import Path

import pytest

from shared.config import load_config, parse_config
from shared.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example.yaml"


def _valid() -> dict:
    import yaml

    return yaml.safe_load(EXAMPLE.read_text())


def test_example_config_is_valid():
    cfg = load_config(EXAMPLE)
    assert cfg.unit_mapping("WID-100", "case").factor == 12
    assert cfg.erp.application_for("orders") == "orders"


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda d: d.update(bogus=1), "bogus: unknown key"),
        (
            lambda d: d["units"]["WID-100"]["case"].update(factor=0),
            "units.WID-100.case.factor: Input should be greater than 0",
        ),
        (lambda d: d["pricing"].update(authority="customer"), "pricing.authority"),
        (
            lambda d: d["schedules"].update(order_poll="every 5 minutes"),
            "schedules.order_poll: 'every 5 minutes' is not an EventBridge schedule",
        ),
        (lambda d: d["owners"].pop("finance"), "owners: missing owner for finance"),
        (lambda d: d["orders"]["status_policy"].update(open="void"), "only 'cancelled' can map to 'void'"),
        (
            lambda d: d["erp"]["applications"]["orders"].update(secret="cin7_bulk"),
            "secrets.cin7_bulk is not set",
        ),
        (lambda d: d["endpoints"]["oro"].update(base_url="not a url"), "endpoints.oro.base_url"),
        (
            lambda d: d["erp"]["applications"]["orders"].update(reserve=10),
            "reserve (10) must be below burst (5)",
        ),
        (
            lambda d: d["erp"]["applications"]["orders"].update(calls_per_minute=60, burst=10),
            "calls_per_minute + burst (60 + 10) exceeds limit_per_minute (60)",
        ),
        (
            lambda d: d["schedules"].update(order_poll="rate(5 minute)"),
            "EventBridge wants 'rate(1 minute)' or 'rate(N minutes)'",
        ),
        (
            lambda d: d["schedules"].update(stock_sync="rate(1 hours)"),
            "EventBridge wants 'rate(1 hour)'",
        ),
        (
            lambda d: d["schedules"].update(reconcile="cron(0 * * *)"),
            "is not an EventBridge schedule",
        ),
        (
            lambda d: d["erp"]["charges"].update(shipping={"product": "Freight"}),
            "erp.charges.shipping.tax_rule: Field required",
        ),
        (
            lambda d: d["erp"]["charges"].update(rounding={"product": "", "tax_rule": "Tax Exempt"}),
            "erp.charges.rounding.product: String should have at least 1 character",
        ),
        (
            lambda d: d["erp"].update(currency_rates={"NZD": "1.712345"}),
            "NZD: rate 1.712345 must be positive with at most 5 decimals",
        ),
        (lambda d: d["erp"].update(currency_rates={"nzd": "1.7"}), "'nzd' is not a currency code"),
        (lambda d: d["erp"].update(currency_rates={"USD": "1"}), "USD is the base currency, its rate is 1"),
        (lambda d: d["erp"].update(base_currency="usd"), "erp.base_currency"),
    ],
)
def test_bad_config_names_the_key_and_why_when_invalid(mutate, expected):
    data = _valid()
    mutate(data)
    with pytest.raises(ConfigError) as err:
        parse_config(data, "test.yaml")
    assert expected in str(err.value)


def test_config_that_is_not_a_mapping_is_rejected():
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        parse_config(["a"], "x.yaml")


def test_missing_and_unparsable_files_are_named(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1,\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_default_rate_budget_stays_within_cin7s_limit_when_applications_are_omitted():
    data = _valid()
    data["erp"].pop("applications")
    app = parse_config(data, "test.yaml").erp.applications["orders"]
    assert app.calls_per_minute + app.burst <= app.limit_per_minute == 60


@pytest.mark.parametrize("expr", ["rate(1 minute)", "rate(15 minutes)", "rate(2 days)", "cron(0 3 * * ? *)"])
def test_eventbridge_schedules_are_accepted(expr):
    data = _valid()
    data["schedules"]["order_poll"] = expr
    assert parse_config(data, "test.yaml").schedules.order_poll == expr
