"""A small client for the services, on code generated from protos/ (see generate.py)."""
import os
import time
import uuid
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

import grpc
from google.protobuf import timestamp_pb2

try:
    from ._generated.inventory.v1 import inventory_pb2, inventory_pb2_grpc
    from ._generated.options.v1 import options_pb2
    from ._generated.orders.v1 import orders_pb2, orders_pb2_grpc
    #if (IncludeTelemetry)
    from ._generated.telemetry.v1 import telemetry_pb2, telemetry_pb2_grpc
    #endif
except ImportError as missing:  # pragma: no cover - only before the first generate.py
    raise ImportError("the gRPC code is generated from protos/: run `python3 clients/python/generate.py` first") from missing

from .tokens import dev_token

DEFAULT_INVENTORY = "http://127.0.0.1:5101"
DEFAULT_ORDERS = "http://127.0.0.1:5102"
#if (IncludeTelemetry)
DEFAULT_TELEMETRY = "http://127.0.0.1:5103"
#endif
CALL_TIMEOUT = 10.0


def _channel(url: str) -> grpc.Channel:
    """http://host:port is cleartext HTTP/2 (as on loopback and inside a cluster); https:// uses TLS."""
    if url.startswith("https://"):
        return grpc.secure_channel(url[len("https://"):].rstrip("/"), grpc.ssl_channel_credentials())
    return grpc.insecure_channel(url.removeprefix("http://").rstrip("/"))


def required_scope(full_method: str) -> str:
    """The scope a method declares in its proto, e.g. required_scope("orders.v1.OrderService.PlaceOrder") == "orders.write"."""
    service, method = full_method.rsplit(".", 1)
    descriptor = options_pb2.DESCRIPTOR.pool.FindServiceByName(service).methods_by_name[method]
    return descriptor.GetOptions().Extensions[options_pb2.required_scope]


@dataclass
class StockLevel:
    sku: str
    available: int
    reserved: int
    initial: bool


class StockWatch:
    """WatchStock as an iterator of StockLevel: the current levels first (initial=True), then every change."""

    def __init__(self, call):
        self._call = call

    def __iter__(self) -> Iterator[StockLevel]:
        for message in self._call:
            level = message.level
            yield StockLevel(level.sku, level.available, level.reserved, message.initial)

    def cancel(self) -> None:
        self._call.cancel()

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.cancel()


class ServicesClient:
    """Calls the services with a bearer token.

    Addresses default to CONTOSO_RETAIL_<SERVICE>_URL (CONTOSO_RETAIL_INVENTORY_URL, CONTOSO_RETAIL_ORDERS_URL, ...), then the DevHost
    ports; the token defaults to CONTOSO_RETAIL_TOKEN, else a development token for `customer` (its subject) with every
    scope the client uses. Orders acts for the customer the token names, so orders are placed for `customer`.
    """

    SCOPES = (
        "inventory.read",
        "inventory.write",
        "orders.read",
        "orders.write",
        #if (IncludeTelemetry)
        "telemetry.read",
        "telemetry.write",
        #endif
    )

    def __init__(self, customer: str = "python-client", inventory: str | None = None, orders: str | None = None,
                 #if (IncludeTelemetry)
                 telemetry: str | None = None,
                 #endif
                 token: str | None = None):
        self.customer = customer
        self._channels = [
            _channel(inventory or os.environ.get("CONTOSO_RETAIL_INVENTORY_URL") or DEFAULT_INVENTORY),
            _channel(orders or os.environ.get("CONTOSO_RETAIL_ORDERS_URL") or DEFAULT_ORDERS),
            #if (IncludeTelemetry)
            _channel(telemetry or os.environ.get("CONTOSO_RETAIL_TELEMETRY_URL") or DEFAULT_TELEMETRY),
            #endif
        ]
        self.inventory = inventory_pb2_grpc.InventoryServiceStub(self._channels[0])
        self.orders = orders_pb2_grpc.OrderServiceStub(self._channels[1])
        #if (IncludeTelemetry)
        self.telemetry = telemetry_pb2_grpc.TelemetryIngestServiceStub(self._channels[2])
        #endif
        self.token = token or os.environ.get("CONTOSO_RETAIL_TOKEN") or dev_token(self.SCOPES, subject=customer)

    def close(self) -> None:
        for channel in self._channels:
            channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()

    def _metadata(self):
        return (("authorization", f"Bearer {self.token}"),)

    def upsert_item(self, sku: str, name: str, available: int):
        request = inventory_pb2.UpsertItemRequest(sku=sku, name=name, available=available)
        return self.inventory.UpsertItem(request, timeout=CALL_TIMEOUT, metadata=self._metadata()).item

    def list_items(self) -> list:
        """Every item, page by page."""
        items, token = [], ""
        while True:
            page = self.inventory.ListItems(inventory_pb2.ListItemsRequest(page_token=token), timeout=CALL_TIMEOUT, metadata=self._metadata())
            items += page.items
            token = page.next_page_token
            if not token:
                return items

    def get_item(self, sku: str):
        return self.inventory.GetItem(inventory_pb2.GetItemRequest(sku=sku), timeout=CALL_TIMEOUT, metadata=self._metadata()).item

    def place_order(self, lines: dict[str, int], request_id: str | None = None, customer_id: str | None = None):
        """Places an order (lines: SKU -> quantity) for `customer`. The same request_id again is a safe retry; returns the Order.

        Not enough stock raises grpc.RpcError FAILED_PRECONDITION; errors.error_details() names the SKUs.
        """
        request = orders_pb2.PlaceOrderRequest(
            request_id=request_id or str(uuid.uuid4()),
            customer_id=customer_id or self.customer,
            lines=[orders_pb2.OrderLine(sku=sku, quantity=quantity) for sku, quantity in lines.items()],
        )
        return self.orders.PlaceOrder(request, timeout=CALL_TIMEOUT, metadata=self._metadata()).order

    def get_order(self, order_id: str):
        return self.orders.GetOrder(orders_pb2.GetOrderRequest(order_id=order_id), timeout=CALL_TIMEOUT, metadata=self._metadata()).order

    def watch_stock(self, skus: Sequence[str] = ()) -> StockWatch:
        """Server streaming with no deadline: runs until cancel() (or leaving a `with` block)."""
        return StockWatch(self.inventory.WatchStock(inventory_pb2.WatchStockRequest(skus=list(skus)), metadata=self._metadata()))

    #if (IncludeTelemetry)
    @staticmethod
    def telemetry_batches(device_id: str, metric: str, values: Sequence[float], batch_size: int = 100,
                          first_sequence: int = 1, start: float | None = None) -> list:
        """Batches with ids "<device>-<seq>", one point a second starting at `start` (epoch seconds; default: now - len)."""
        start = time.time() - len(values) if start is None else start
        points = []
        for i, value in enumerate(values):
            stamp = timestamp_pb2.Timestamp()
            stamp.FromNanoseconds(int((start + i) * 1e9))
            points.append(telemetry_pb2.Point(device_id=device_id, metric=metric, timestamp=stamp, value=value))
        return [
            telemetry_pb2.StreamIngestRequest(batch_id=f"{device_id}-{first_sequence + n}", points=points[i:i + batch_size])
            for n, i in enumerate(range(0, len(points), batch_size))
        ]

    def stream_telemetry(self, batches: Iterable, attempts: int = 5) -> list:
        """Streams batches over StreamIngest and returns every acknowledgement.

        Each batch is acknowledged only once committed. If the stream breaks (UNAVAILABLE), the batches with no
        acknowledgement are sent again on a new stream; the server acknowledges an already stored batch_id as a
        duplicate instead of storing it twice.
        """
        pending = {batch.batch_id: batch for batch in batches}
        acks = []
        for attempt in range(1, attempts + 1):
            try:
                for ack in self.telemetry.StreamIngest(iter(list(pending.values())), timeout=60, metadata=self._metadata()):
                    pending.pop(ack.batch_id, None)
                    acks.append(ack)
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.UNAVAILABLE or attempt == attempts:
                    raise
                time.sleep(min(0.1 * 2 ** attempt, 2.0))
            if not pending:
                return acks
        raise RuntimeError(f"{len(pending)} batch(es) were never acknowledged")

    def query_telemetry(self, device_id: str, start: float, end: float, metric: str = "") -> list:
        """The device's points in [start, end) (epoch seconds), in time order."""
        start_stamp, end_stamp = timestamp_pb2.Timestamp(), timestamp_pb2.Timestamp()
        start_stamp.FromNanoseconds(int(start * 1e9))
        end_stamp.FromNanoseconds(int(end * 1e9))
        request = telemetry_pb2.QueryRequest(device_id=device_id, metric=metric, start_time=start_stamp, end_time=end_stamp)
        return [point for response in self.telemetry.Query(request, timeout=CALL_TIMEOUT, metadata=self._metadata())
                for point in response.points]
    #endif
