"""GetItem on the inventory.v1 contract with grpcio's asyncio server, for bench/run.sh.

Serves the Inventory sample items from memory (like every peer server; see docs/benchmarks.md on data access).
Code generated from protos/ by bench/run.sh: protoc --python_out --grpc_python_out (Debian grpc_python_plugin).
usage: python3 server.py PORT GENERATED_DIR
"""
import asyncio
import re
import sys
import time

sys.path.insert(0, sys.argv[2])

import grpc  # noqa: E402
from google.protobuf.timestamp_pb2 import Timestamp  # noqa: E402
from inventory.v1 import inventory_pb2, inventory_pb2_grpc  # noqa: E402

SAMPLE = [
    ("KB-001", "Mechanical keyboard", 50),
    ("MS-002", "Wireless mouse", 120),
    ("MN-003", "27-inch 4K monitor", 15),
    ("HS-004", "Noise-cancelling headset", 40),
    ("CB-005", "USB-C cable, 2 m", 300),
    ("DK-006", "Thunderbolt docking station", 3),
    ("WC-007", "1080p webcam", 25),
    ("LS-008", "Aluminium laptop stand", 60),
]
SKU = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _items():
    seeded = Timestamp()
    seeded.FromNanoseconds(time.time_ns())
    return {sku: inventory_pb2.Item(sku=sku, name=name, available=available, updated_at=seeded)
            for sku, name, available in SAMPLE}


class Inventory(inventory_pb2_grpc.InventoryServiceServicer):
    def __init__(self):
        self._items = _items()

    async def GetItem(self, request, context):
        if not SKU.match(request.sku):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "sku: not a valid SKU")
        item = self._items.get(request.sku)
        if item is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"inventory.v1.Item {request.sku} not found")
        return inventory_pb2.GetItemResponse(item=item)


async def main(port):
    server = grpc.aio.server()
    inventory_pb2_grpc.add_InventoryServiceServicer_to_server(Inventory(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print(f"python grpcio {grpc.__version__} listening on {port}", flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
