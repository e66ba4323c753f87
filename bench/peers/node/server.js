// GetItem on the inventory.v1 contract with @grpc/grpc-js, for bench/run.sh.
// Serves the Inventory sample items from memory (like every peer server; see docs/benchmarks.md on data access).
// usage: node server.js PORT PROTOS_DIR (google/api/annotations.proto: GOOGLEAPIS_PROTOS, else PROTOS_DIR/googleapis-path)
'use strict';
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const [port, protos] = [process.argv[2], process.argv[3]];
const definition = protoLoader.loadSync('inventory/v1/inventory.proto', {
  includeDirs: [protos, process.env.GOOGLEAPIS_PROTOS ?? execFileSync('bash', [path.join(protos, 'googleapis-path')], { encoding: 'utf8' }).trim()],
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
});
const inventory = grpc.loadPackageDefinition(definition).inventory.v1;

const sample = [
  ['KB-001', 'Mechanical keyboard', 50],
  ['MS-002', 'Wireless mouse', 120],
  ['MN-003', '27-inch 4K monitor', 15],
  ['HS-004', 'Noise-cancelling headset', 40],
  ['CB-005', 'USB-C cable, 2 m', 300],
  ['DK-006', 'Thunderbolt docking station', 3],
  ['WC-007', '1080p webcam', 25],
  ['LS-008', 'Aluminium laptop stand', 60],
];
const now = Date.now();
const seeded = { seconds: String(Math.floor(now / 1000)), nanos: (now % 1000) * 1e6 };
const items = new Map(sample.map(([sku, name, available]) => [sku, { sku, name, available, reserved: 0, updated_at: seeded }]));
const skuPattern = /^[A-Za-z0-9._-]{1,64}$/;

function getItem(call, callback) {
  const sku = call.request.sku;
  if (!skuPattern.test(sku)) {
    callback({ code: grpc.status.INVALID_ARGUMENT, details: 'sku: not a valid SKU' });
    return;
  }
  const item = items.get(sku);
  if (item === undefined) {
    callback({ code: grpc.status.NOT_FOUND, details: `inventory.v1.Item ${sku} not found` });
    return;
  }
  callback(null, { item });
}

const server = new grpc.Server();
server.addService(inventory.InventoryService.service, { getItem });
server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error) => {
  if (error) {
    console.error(error);
    process.exit(1);
  }
  console.log(`node grpc-js listening on ${port}`);
});
