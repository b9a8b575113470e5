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
    # the demo's product attribute following its owner; the rest stay the ERP's (the default)
    assert cfg.products.owner == {a: "oro" if a == "name" else "erp" for a in cfg.products.owner}


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
        (
            lambda d: d["products"]["owner"].update(barcode="oro"),
            "unknown product attribute(s) barcode: one of name, description, category, brand, weight, "
            "dimensions (Oro has no barcode field: the ERP keeps it)",
        ),
        (lambda d: d["products"]["owner"].update(name="storefront"), "products.owner.name"),
        (lambda d: d.update(prices={"full_run_window": "25:00-06:00"}), "prices.full_run_window"),
        (lambda d: d.update(prices={"oro_writes": "bulk"}), "prices.oro_writes"),
        (lambda d: d["stock"].update(oro_writes="sometimes"), "stock.oro_writes"),
        (
            lambda d: d["price_lists"][0].update(erp_customer_id="c-1"),
            "give exactly one of erp_tier and erp_customer_id",
        ),
        (
            lambda d: d["price_lists"][0].update(erp_tier=None, erp_customer_id="c-1"),
            "erp_customer_id (customer-specific prices) needs direction oro_to_erp",
        ),
        (lambda d: d["price_lists"][0].update(oro_price_list_id=""), "price_lists.0.oro_price_list_id"),
        # owners' alerts, fulfilment, the digest and the reconciliation (issues 12 and 13)
        (lambda d: d.update(alerts={"digest_hour_utc": 24}), "alerts.digest_hour_utc"),
        (lambda d: d.update(alerts={"per_hour_per_team": 0}), "alerts.per_hour_per_team"),
        (lambda d: d.update(alerts={"held_order_max_hours": "a day"}), "alerts.held_order_max_hours"),
        (lambda d: d.update(alerts={"digest": "daily"}), "alerts.digest"),
        (
            lambda d: d.update(fulfilment={"external_status": {"delivered": "closed"}}),
            "fulfilment.external_status.delivered",
        ),
        (lambda d: d.update(fulfilment={"enabled": "sometimes"}), "fulfilment.enabled"),
        (
            lambda d: d["schedules"].update(exception_digest="every hour"),
            "is not an EventBridge schedule",
        ),
        (lambda d: d["schedules"].update(reconcile_drift_hour_utc=-1), "schedules.reconcile_drift_hour_utc"),
        (
            lambda d: d["schedules"].update(fulfilment_poll_overlap_minutes=-5),
            "schedules.fulfilment_poll_overlap_minutes",
        ),
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


@pytest.mark.parametrize(
    "expr, problem",
    [
        ("cron(0 0 ? * ? *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 0 * * * *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(? 0 1 * ? *)", "minutes '?' is not understood"),
        ("cron(0 0 ? * MON/2 *)", "EventBridge allows no step there"),
        ("cron(0 0 L * ? *)", "L, W or #"),
        ("cron(0 0 1 * ? 2300)", "year 2300 is outside 1970-2199"),
        ("cron(0  0 1 * ? *)", "6 fields separated by one space"),
        ("cron(0 0 1 13 ? *)", "month 13 is outside 1-12"),
        ("cron(0 ² 1 * ? *)", "hours '²' is not understood"),
        ("cron(0/ 0 1 * ? *)", "step '' is not a number"),
        ("rate(9999 days)", "longer than a year"),
    ],
)
def test_schedule_that_eventbridge_or_the_local_runtime_would_refuse_is_named(expr, problem):
    data = _valid()
    data["schedules"]["reconcile"] = expr
    with pytest.raises(ConfigError) as err:
        parse_config(data, "test.yaml")
    assert f"schedules.reconcile: {expr!r}" in str(err.value)
    assert problem in str(err.value)


@pytest.mark.parametrize("expr", ["cron(0 12 ? * MON-FRI *)", "cron(*/15 8-17 1,15 JAN-JUN ? 2027)"])
def test_cron_that_validates_is_one_the_local_runtime_fires(expr):
    from local import schedules

    data = _valid()
    data["schedules"]["reconcile"] = expr
    assert parse_config(data, "test.yaml").schedules.reconcile == expr
    assert isinstance(schedules.parse(expr), schedules.Cron)


def test_flow_with_no_erp_application_is_named():
    data = _valid()
    data["erp"]["applications"]["orders"]["flows"] = ["stock", "prices"]
    with pytest.raises(ConfigError) as err:
        parse_config(data, "test.yaml")
    assert "no application serves flow 'orders', which order_sync calls the ERP for" in str(err.value)


def test_infinite_number_is_named():
    data = _valid()
    data["endpoints"]["oro"]["timeout_seconds"] = float("inf")
    with pytest.raises(ConfigError, match="endpoints.oro.timeout_seconds: Input should be a finite number"):
        parse_config(data, "test.yaml")


def _text_with(insert_after: str, extra: str) -> str:
    text = EXAMPLE.read_text()
    assert insert_after in text
    return text.replace(insert_after, insert_after + extra, 1)


@pytest.mark.parametrize(
    "name, content, problem",
    [
        (
            "dup.yaml",
            _text_with("  default_location: Main Warehouse\n", "  default_location: Sydney DC\n"),
            "not valid YAML: duplicate key 'default_location'",
        ),
        (
            "dup.json",
            '{"service_name": "a", "service_name": "b"}',
            "not valid JSON: duplicate key 'service_name'",
        ),
        ("latin1.yaml", "service_name: caf\xe9\n".encode("latin-1"), "not UTF-8 text (byte 17 is 0xe9)"),
        ("binary.yaml", bytes(range(256)), "not UTF-8 text"),
        ("deep.yaml", "a: " + "[" * 50_000 + "]" * 50_000, "not valid YAML: nested too deeply"),
        ("deep.json", '{"a": ' + "[" * 50_000 + "]" * 50_000 + "}", "not valid JSON: nested too deeply"),
        ("huge.yaml", "service_name: " + "9" * 5000, "not valid YAML: Exceeds the limit (4300 digits)"),
        (
            "huge.json",
            '{"service_name": ' + "9" * 5000 + "}",
            "not valid JSON: Exceeds the limit (4300 digits)",
        ),
    ],
)
def test_unreadable_file_is_a_named_error_not_a_traceback(tmp_path, name, content, problem):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}: ")
    assert problem in str(err.value)


def test_yaml_merge_key_may_be_overridden_without_a_duplicate_error(tmp_path):
    path = tmp_path / "merge.yaml"
    path.write_text(
        _text_with(
            "  default_location: Main Warehouse\n",
            "  charges:\n    shipping: &freight {product: Freight, tax_rule: Tax on Sales}\n"
            "    rounding:\n      <<: *freight\n      product: Rounding\n",
        ).replace(
            "  charges:                                 # order-level amounts, each an ERP service product\n"
            "    shipping: {product: Freight, tax_rule: Tax on Sales}\n"
            "    rounding: {product: Rounding, tax_rule: Tax Exempt}   # keeps totals exact when a price needs > 4 decimals\n",
            "",
        )
    )
    cfg = load_config(path)
    assert cfg.erp.charges.rounding is not None
    assert (cfg.erp.charges.rounding.product, cfg.erp.charges.rounding.tax_rule) == (
        "Rounding",
        "Tax on Sales",
    )
