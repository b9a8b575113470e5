"""OroClient's fulfilment writes against the sandbox OroCommerce API over real HTTP: an order's shipping
trackings listed, added, replaced and deleted; its shipping status; its external status, which Oro takes only
with External Status Management enabled (reference §3)."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.oro.server import OroSandbox
from shared.errors import Permanent
from tests.integration.test_oro_client import _client, _control, _create_order
from tests.integration.test_oro_client import oro_demo as oro_demo  # the fixture


def test_trackings_are_added_replaced_and_deleted_per_order(
    oro_demo: dict[str, Any], oro_sandbox: OroSandbox
):
    with _client(oro_sandbox) as client:
        order_id = _create_order(client, oro_demo, "PO-TRK-1")
        other_id = _create_order(client, oro_demo, "PO-TRK-2")
        first = client.add_shipping_tracking(order_id, "StarTrack", "ST-1")
        second = client.add_shipping_tracking(order_id, "StarTrack", "ST-2")
        client.add_shipping_tracking(other_id, "DHL", "D-1")
        assert [(t.method, t.number) for t in client.list_shipping_trackings(order_id)] == [
            ("StarTrack", "ST-1"),
            ("StarTrack", "ST-2"),
        ]
        replaced = client.replace_shipping_tracking(second.id, "DHL", "ST-2B")
        assert (replaced.id, replaced.method, replaced.number) == (second.id, "DHL", "ST-2B")
        client.delete_shipping_tracking(first.id)
        client.delete_shipping_tracking(first.id)  # already gone: success
        assert [(t.id, t.number) for t in client.list_shipping_trackings(order_id)] == [(second.id, "ST-2B")]
        assert [t.number for t in client.list_shipping_trackings(other_id)] == ["D-1"]
        assert client.get_order(order_id).shipping_tracking_ids == [second.id]


def test_a_tracking_id_that_is_not_an_oro_id_is_never_put_in_a_url(oro_sandbox: OroSandbox):
    with _client(oro_sandbox) as client:
        for call in (
            lambda: client.delete_shipping_tracking("1/../3"),
            lambda: client.replace_shipping_tracking("3?x=1", "ups", "1Z"),
        ):
            with pytest.raises(Permanent, match="is not an id of"):
                call()


def test_shipping_status_moves_and_the_external_status_is_taken_only_with_status_management(
    oro_demo: dict[str, Any], oro_sandbox: OroSandbox
):
    with _client(oro_sandbox) as client:
        order_id = _create_order(client, oro_demo, "PO-STS-1")
        assert client.get_order(order_id).shipping_status == "not_shipped"
        client.set_shipping_status(order_id, "partially_shipped")
        assert client.get_order(order_id).shipping_status == "partially_shipped"
        assert client.set_external_status(order_id, "shipped") is False  # ignored: the setting is off
        assert client.get_order(order_id).status is None
        _control(oro_sandbox, "POST", "config", {"external_status_management": True})
        assert client.set_external_status(order_id, "shipped") is True
        order = client.get_order(order_id)
    assert (order.status, order.shipping_status, order.internal_status) == (
        "shipped",
        "partially_shipped",
        "open",
    )
