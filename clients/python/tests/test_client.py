"""The Python client against real services.

Run: python3 -m unittest discover -s tests -v   (from clients/python, after python3 generate.py)
Services: CONTOSO_RETAIL_<SERVICE>_URL for each service (e.g. a running DevHost); tests that
need them are skipped without. CONTOSO_RETAIL_DEV_SIGNING_KEY is the services' development key (default: the
well-known one). tests/Clients.Tests starts the services and runs this file.
"""
import base64
import hashlib
import hmac
import json
import os
import queue
import threading
import time
import unittest
import uuid

import grpc

from contoso_retail_client import DEVELOPMENT_KEY, ServicesClient, dev_token, error_details, required_scope
from contoso_retail_client._generated.orders.v1 import orders_pb2

SERVICES = (
    "CONTOSO_RETAIL_INVENTORY_URL",
    "CONTOSO_RETAIL_ORDERS_URL",
    #if (IncludeTelemetry)
    "CONTOSO_RETAIL_TELEMETRY_URL",
    #endif
)


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class TokenAndContractTests(unittest.TestCase):
    def test_dev_token_is_hs256_signed_with_the_development_key_and_carries_the_scopes(self):
        token = dev_token(["orders.write", "inventory.read"], subject="alice", key=DEVELOPMENT_KEY)

        header, claims, signature = token.split(".")
        expected = hmac.new(base64.b64decode(DEVELOPMENT_KEY), f"{header}.{claims}".encode(), hashlib.sha256).digest()
        self.assertEqual(expected, _b64decode(signature))
        self.assertEqual({"alg": "HS256", "typ": "JWT"}, json.loads(_b64decode(header)))
        payload = json.loads(_b64decode(claims))
        self.assertEqual(("alice", "orders.write inventory.read", "contoso-retail-dev", "contoso-retail"),
                         (payload["sub"], payload["scope"], payload["iss"], payload["aud"]))
        self.assertGreater(payload["exp"], payload["nbf"])

    def test_generated_code_carries_the_scope_and_idempotency_each_method_declares(self):
        self.assertEqual("orders.write", required_scope("orders.v1.OrderService.PlaceOrder"))
        self.assertEqual("inventory.read", required_scope("inventory.v1.InventoryService.WatchStock"))
        #if (IncludeTelemetry)
        self.assertEqual("telemetry.write", required_scope("telemetry.v1.TelemetryIngestService.StreamIngest"))
        #endif
        place_order = orders_pb2.DESCRIPTOR.services_by_name["OrderService"].methods_by_name["PlaceOrder"]
        self.assertEqual(place_order.GetOptions().IDEMPOTENT, place_order.GetOptions().idempotency_level)


@unittest.skipUnless(all(os.environ.get(v) for v in SERVICES), "set " + ", ".join(SERVICES) + " to run against services")
class ServiceTests(unittest.TestCase):
    def setUp(self):
        self.client = ServicesClient(customer=f"py-customer-{uuid.uuid4().hex[:8]}")
        self.addCleanup(self.client.close)
        self.sku = f"PY-{uuid.uuid4().hex[:8]}"
        self.client.upsert_item(self.sku, "Python widget", 10)

    def test_place_order_is_confirmed_and_the_same_request_again_returns_the_same_order(self):
        request_id = str(uuid.uuid4())

        placed = self.client.place_order({self.sku: 3}, request_id=request_id)
        replayed = self.client.place_order({self.sku: 3}, request_id=request_id)

        self.assertEqual("ORDER_STATUS_CONFIRMED", orders_pb2.OrderStatus.Name(placed.status))
        self.assertEqual(placed.order_id, replayed.order_id)
        self.assertEqual(placed.order_id, self.client.get_order(placed.order_id).order_id)
        item = self.client.get_item(self.sku)
        self.assertEqual((7, 3), (item.available, item.reserved), "stock is reserved once")

    def test_short_stock_is_failed_precondition_naming_the_sku(self):
        with self.assertRaises(grpc.RpcError) as raised:
            self.client.place_order({self.sku: 1000})

        details = error_details(raised.exception)
        self.assertEqual("FAILED_PRECONDITION", details.code)
        self.assertIn(("INSUFFICIENT_STOCK", self.sku), [(kind, subject) for kind, subject, _ in details.preconditions])

    def test_invalid_order_is_invalid_argument_naming_the_field(self):
        with self.assertRaises(grpc.RpcError) as raised:
            self.client.place_order({self.sku: 0})

        details = error_details(raised.exception)
        self.assertEqual("INVALID_ARGUMENT", details.code)
        self.assertIn("lines[0].quantity", [f for f, _ in details.field_violations])

    def test_no_token_is_unauthenticated_and_a_token_without_the_scope_is_permission_denied(self):
        anonymous = ServicesClient(token="not-a-jwt")
        self.addCleanup(anonymous.close)
        read_only = ServicesClient(customer=self.client.customer, token=dev_token(["inventory.read"], subject=self.client.customer))
        self.addCleanup(read_only.close)

        with self.assertRaises(grpc.RpcError) as unauthenticated:
            anonymous.get_item(self.sku)
        with self.assertRaises(grpc.RpcError) as denied:
            read_only.place_order({self.sku: 1})

        self.assertEqual(grpc.StatusCode.UNAUTHENTICATED, unauthenticated.exception.code())
        self.assertEqual(grpc.StatusCode.PERMISSION_DENIED, denied.exception.code())
        self.assertIn("orders.write", denied.exception.details())

    def test_watch_stock_sends_the_current_level_then_the_change_an_order_makes(self):
        levels = queue.Queue()
        watch = self.client.watch_stock([self.sku])
        self.addCleanup(watch.cancel)

        def pump():
            try:
                for level in watch:
                    levels.put(level)
            except grpc.RpcError:
                pass  # cancelled at the end of the test

        threading.Thread(target=pump, daemon=True).start()
        initial = levels.get(timeout=10)
        self.client.place_order({self.sku: 4})
        changed = levels.get(timeout=10)

        self.assertEqual((self.sku, 10, 0, True), (initial.sku, initial.available, initial.reserved, initial.initial))
        self.assertEqual((self.sku, 6, 4, False), (changed.sku, changed.available, changed.reserved, changed.initial))
    #if (IncludeTelemetry)

    def test_stream_telemetry_acknowledges_every_batch_and_a_resent_batch_is_a_duplicate_stored_once(self):
        device = f"py-device-{uuid.uuid4().hex[:8]}"
        start = time.time() - 600
        batches = ServicesClient.telemetry_batches(device, "temperature_c", [20.0 + i / 10 for i in range(250)], batch_size=50, start=start)

        first = self.client.stream_telemetry(batches)
        again = self.client.stream_telemetry(batches[-2:])

        self.assertEqual([b.batch_id for b in batches], [a.batch_id for a in first])
        self.assertEqual(250, sum(a.accepted_points for a in first))
        self.assertFalse(any(a.duplicate for a in first))
        self.assertTrue(all(a.duplicate for a in again))
        stored = self.client.query_telemetry(device, start - 1, time.time() + 1)
        self.assertEqual(250, len(stored))
        self.assertEqual(250, len({p.timestamp.ToNanoseconds() for p in stored}))
    #endif


if __name__ == "__main__":
    unittest.main()
