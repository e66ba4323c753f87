"""`python3 -m contoso_retail_client`: a short tour against running services (DevHost by default).

Places an order for one unit of the first item in stock while watching that item's stock level, then calls the
other services. Addresses: CONTOSO_RETAIL_<SERVICE>_URL (CONTOSO_RETAIL_INVENTORY_URL, CONTOSO_RETAIL_ORDERS_URL, ...).
"""
#if (IncludeTelemetry)
import math
#endif
import sys
import threading

import grpc

from . import ServicesClient, error_details
from ._generated.orders.v1 import orders_pb2


def main() -> int:
    with ServicesClient(customer="python-demo") as client:
        try:
            item = next((i for i in client.list_items() if i.available > 0), None)
            if item is None:
                print("no item in stock; start DevHost (it seeds sample items)", file=sys.stderr)
                return 1

            with client.watch_stock([item.sku]) as watch:
                levels = iter(watch)
                first = next(levels)
                print(f"watch: {first.sku} available {first.available}, reserved {first.reserved}")
                changed = threading.Thread(target=lambda: print_next(levels))
                changed.start()
                order = client.place_order({item.sku: 1})
                print(f"order {order.order_id}: {orders_pb2.OrderStatus.Name(order.status)}")
                changed.join(timeout=10)
            #if (IncludeTelemetry)

            batches = client.telemetry_batches("python-sensor", "temperature_c", [20 + math.sin(i / 5) for i in range(50)], batch_size=10)
            acks = client.stream_telemetry(batches)
            print(f"telemetry: {len(acks)} batch(es) acknowledged, {sum(a.accepted_points for a in acks)} point(s)")
            #endif
            return 0
        except grpc.RpcError as error:
            details = error_details(error)
            print(f"error: {details.code}: {details.message}", file=sys.stderr)
            for kind, subject, description in details.preconditions:
                print(f"  precondition {kind} {subject}: {description}", file=sys.stderr)
            return 1


def print_next(levels) -> None:
    level = next(levels, None)
    if level is not None:
        print(f"watch: {level.sku} available {level.available}, reserved {level.reserved}")


if __name__ == "__main__":
    sys.exit(main())
