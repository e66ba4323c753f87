"""A client written from protos/ alone: places an order, reads it back, and hits a shortage.

Usage: place_order.py <generated-code-dir> <orders host:port> <inventory host:port> <bearer token>
Prints one JSON object describing what it saw. Every call carries `authorization: Bearer <token>` metadata.
"""
import json
import sys
import uuid

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
from inventory.v1 import inventory_pb2, inventory_pb2_grpc  # noqa: E402
from orders.v1 import orders_pb2, orders_pb2_grpc  # noqa: E402

orders = orders_pb2_grpc.OrderServiceStub(grpc.insecure_channel(sys.argv[2]))
inventory = inventory_pb2_grpc.InventoryServiceStub(grpc.insecure_channel(sys.argv[3]))
auth = (("authorization", "Bearer " + sys.argv[4]),)

# Without a token the services answer UNAUTHENTICATED.
unauthenticated = ""
try:
    inventory.GetItem(inventory_pb2.GetItemRequest(sku="PY-1"), timeout=10)
except grpc.RpcError as error:
    unauthenticated = error.code().name

inventory.UpsertItem(inventory_pb2.UpsertItemRequest(sku="PY-1", name="Python widget", available=10), timeout=10, metadata=auth)

request_id = str(uuid.uuid4())
line = orders_pb2.OrderLine(sku="PY-1", quantity=3)
placed = orders.PlaceOrder(
    orders_pb2.PlaceOrderRequest(request_id=request_id, customer_id="py-customer", lines=[line]), timeout=10, metadata=auth)
replayed = orders.PlaceOrder(
    orders_pb2.PlaceOrderRequest(request_id=request_id, customer_id="py-customer", lines=[line]), timeout=10, metadata=auth)
fetched = orders.GetOrder(orders_pb2.GetOrderRequest(order_id=placed.order.order_id), timeout=10, metadata=auth)
item = inventory.GetItem(inventory_pb2.GetItemRequest(sku="PY-1"), timeout=10, metadata=auth).item

shortage = {}
try:
    orders.PlaceOrder(orders_pb2.PlaceOrderRequest(
        request_id=str(uuid.uuid4()), customer_id="py-customer",
        lines=[orders_pb2.OrderLine(sku="PY-1", quantity=1000)]), timeout=10, metadata=auth)
except grpc.RpcError as error:
    trailers = dict(error.trailing_metadata() or ())
    shortage = {
        "code": error.code().name,
        # google.rpc.Status with PreconditionFailure; the SKU is in it even without googleapis stubs.
        "details_name_sku": b"PY-1" in trailers.get("grpc-status-details-bin", b""),
    }

print(json.dumps({
    "order_id": placed.order.order_id,
    "replayed_order_id": replayed.order.order_id,
    "fetched_order_id": fetched.order.order_id,
    "status": orders_pb2.OrderStatus.Name(fetched.order.status),
    "available_after": item.available,
    "shortage": shortage,
    "without_token": unauthenticated,
}))
