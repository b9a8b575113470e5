"""Personal data never reaches the logs unmasked; concurrent invocations keep their metrics apart."""

import json
import threading
import warnings
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.warnings import PowertoolsUserWarning

from shared.observability import NAMESPACE, mask_personal, metrics


def test_personal_fields_and_emails_are_masked():
    data = {
        "Email": "jane@acme.example",
        "name": "Acme",
        "Contacts": [{"Phone": "+61 3 9000", "Name": "x"}],
        "note": "call jane@acme.example",
        "Line1": "",
        "qty": 3,
    }
    masked = mask_personal(data)
    assert masked["Email"] == "***"
    assert masked["Contacts"][0]["Phone"] == "***"
    assert masked["note"] == "call ***@***"
    assert masked["name"] == "Acme" and masked["qty"] == 3 and masked["Line1"] == ""


def test_concurrent_invocations_of_two_functions_each_add_their_dimensions_once(monkeypatch, capsys):
    # The local runtime runs webhook_ingest (system=oro) in an HTTP thread while order_sync (system=erp) works
    # a batch in the queue poller, in one process. Interleaved as below, one process-wide metric set made
    # order_sync overwrite webhook_ingest's `system` (PowertoolsUserWarning), publish under `erp` and clear
    # webhook_ingest's dimensions before its metric was published.
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    dimensions_added, erp_flushed = threading.Barrier(2, timeout=10), threading.Barrier(2, timeout=10)
    failures: list[BaseException] = []

    @metrics.log_metrics
    def webhook_ingest(event: Any, context: Any) -> None:
        metrics.add_dimension(name="flow", value="orders")
        metrics.add_dimension(name="system", value="oro")
        dimensions_added.wait()
        erp_flushed.wait()
        metrics.add_metric(name="WebhookEnqueued", unit=MetricUnit.Count, value=1)

    @metrics.log_metrics
    def order_sync(event: Any, context: Any) -> None:
        metrics.add_dimension(name="flow", value="orders")
        metrics.add_dimension(name="system", value="erp")
        metrics.add_metric(name="OrderSynced", unit=MetricUnit.Count, value=1)

    def run_webhook() -> None:
        try:
            webhook_ingest({}, None)
        except BaseException as err:  # noqa: BLE001 - reported below
            failures.append(err)

    def run_order_sync() -> None:
        try:
            dimensions_added.wait()
            order_sync({}, None)
            erp_flushed.wait()
        except BaseException as err:  # noqa: BLE001 - reported below
            failures.append(err)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        threads = [threading.Thread(target=run_webhook), threading.Thread(target=run_order_sync)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(15)

    assert failures == []
    assert [str(w.message) for w in caught if issubclass(w.category, PowertoolsUserWarning)] == []
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    published = {name: blob for blob in blobs for name in blob if name in ("WebhookEnqueued", "OrderSynced")}
    assert set(published) == {"WebhookEnqueued", "OrderSynced"} and len(blobs) == 2
    assert (published["WebhookEnqueued"]["system"], published["OrderSynced"]["system"]) == ("oro", "erp")
    for blob in blobs:
        directive = blob["_aws"]["CloudWatchMetrics"][0]
        assert directive["Namespace"] == NAMESPACE and blob["flow"] == "orders"
        assert {"flow", "system"} <= set(directive["Dimensions"][0])


def test_each_invocation_in_one_thread_publishes_its_metrics_once(monkeypatch, capsys):
    # As on AWS: one thread, invocation after invocation; every flush publishes only that invocation's metric.
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)

    @metrics.log_metrics
    def handler(event: Any, context: Any) -> None:
        metrics.add_dimension(name="system", value="oro")
        metrics.add_metric(name="WebhookEnqueued", unit=MetricUnit.Count, value=1)

    rounds = 3
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(rounds):
            handler({}, None)

    assert [w for w in caught if issubclass(w.category, PowertoolsUserWarning)] == []
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert [(b["WebhookEnqueued"], b["system"]) for b in blobs] == [([1.0], "oro")] * rounds


def test_addresses_contacts_and_notes_of_domain_objects_are_masked():
    from shared.domain.orders import Address, Contact, SaleDraft

    draft = SaleDraft(
        external_id="oro:order:1",
        customer_id="c",
        location="Main Warehouse",
        currency="USD",
        lines=(),
        authorise=True,
        shipping_address=Address(line1="1 Dock Rd", city="Springfield", contact="Stella Storm", phone="555"),
        contact=Contact(name="Stella Storm", email="store12@acme.example", phone="555"),
    )
    masked = mask_personal(
        {"draft": draft, "customerNotes": "ring Stella", "ShippingAddress": {"Line1": "x"}}
    )
    text = json.dumps(masked)
    assert "Dock" not in text and "Stella" not in text and "store12" not in text and "555" not in text
    assert masked["draft"]["external_id"] == "oro:order:1"
