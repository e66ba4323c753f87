// The Node client against real services: `npm test` (node --test) from clients/node.
// Services: CONTOSO_RETAIL_<SERVICE>_URL for each service (e.g. a running DevHost); the tests that
// need them are skipped without. CONTOSO_RETAIL_DEV_SIGNING_KEY is the services' development key (default: the well-known
// one). tests/Clients.Tests starts the services and runs this file.
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { describe, it, before, after } from 'node:test';

import { DEVELOPMENT_KEY, ServicesClient, devToken, errorDetails, grpc, methodRules } from '../src/index.js';

const SERVICES = [
  'CONTOSO_RETAIL_INVENTORY_URL',
  'CONTOSO_RETAIL_ORDERS_URL',
  //#if (IncludeTelemetry)
  'CONTOSO_RETAIL_TELEMETRY_URL',
  //#endif
];
const missing = SERVICES.filter((v) => !process.env[v]);
const skipServices = missing.length > 0 ? `set ${missing.join(', ')} to run against services` : false;
const decode = (part) => JSON.parse(Buffer.from(part, 'base64url').toString());
const unique = (prefix) => `${prefix}-${randomUUID().slice(0, 8)}`;

async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('the call should have failed');
}

describe('tokens and contracts', () => {
  it('dev token is HS256 signed with the development key and carries the scopes', () => {
    const token = devToken(['orders.write', 'inventory.read'], { subject: 'alice', key: DEVELOPMENT_KEY });

    const [header, claims, signature] = token.split('.');
    const expected = createHmac('sha256', Buffer.from(DEVELOPMENT_KEY, 'base64')).update(`${header}.${claims}`).digest('base64url');
    assert.equal(signature, expected);
    assert.deepEqual(decode(header), { alg: 'HS256', typ: 'JWT' });
    const payload = decode(claims);
    assert.deepEqual([payload.sub, payload.scope, payload.iss, payload.aud], ['alice', 'orders.write inventory.read', 'contoso-retail-dev', 'contoso-retail']);
    assert.ok(payload.exp > payload.nbf);
  });

  it('contracts loaded from protos carry the scope and idempotency each method declares', () => {
    assert.deepEqual(methodRules('orders.v1.OrderService', 'PlaceOrder'), { requiredScope: 'orders.write', idempotency: 'IDEMPOTENT' });
    assert.deepEqual(methodRules('inventory.v1.InventoryService', 'WatchStock'), { requiredScope: 'inventory.read', idempotency: 'NO_SIDE_EFFECTS' });
    //#if (IncludeTelemetry)
    assert.equal(methodRules('telemetry.v1.TelemetryIngestService', 'StreamIngest').requiredScope, 'telemetry.write');
    //#endif
  });
});

describe('against the services', { skip: skipServices }, () => {
  let client;
  let sku;

  before(() => {
    client = new ServicesClient({ customer: unique('node-customer') });
  });

  after(() => client?.close());

  const freshItem = async (available = 10) => {
    sku = unique('NODE');
    await client.upsertItem(sku, 'Node widget', available);
    return sku;
  };

  it('place order is confirmed and the same request again returns the same order', async () => {
    await freshItem();
    const requestId = randomUUID();

    const placed = await client.placeOrder({ [sku]: 3 }, { requestId });
    const replayed = await client.placeOrder({ [sku]: 3 }, { requestId });

    assert.equal(placed.status, 'ORDER_STATUS_CONFIRMED');
    assert.equal(replayed.orderId, placed.orderId);
    assert.equal((await client.getOrder(placed.orderId)).orderId, placed.orderId);
    const item = await client.getItem(sku);
    assert.deepEqual([item.available, item.reserved], [7, 3], 'stock is reserved once');
  });

  it('short stock is FAILED_PRECONDITION naming the sku', async () => {
    await freshItem();

    const details = errorDetails(await rejection(client.placeOrder({ [sku]: 1000 })));

    assert.equal(details.code, 'FAILED_PRECONDITION');
    assert.ok(details.preconditions.some((v) => v.type === 'INSUFFICIENT_STOCK' && v.subject === sku), JSON.stringify(details));
  });

  it('invalid order is INVALID_ARGUMENT naming the field', async () => {
    await freshItem();

    const details = errorDetails(await rejection(client.placeOrder({ [sku]: 0 })));

    assert.equal(details.code, 'INVALID_ARGUMENT');
    assert.ok(details.fieldViolations.some((v) => v.field === 'lines[0].quantity'), JSON.stringify(details));
  });

  it('no token is UNAUTHENTICATED and a token without the scope is PERMISSION_DENIED', async () => {
    await freshItem();
    const anonymous = new ServicesClient({ token: 'not-a-jwt' });
    const readOnly = new ServicesClient({ customer: client.customer, token: devToken(['inventory.read'], { subject: client.customer }) });
    try {
      const unauthenticated = await rejection(anonymous.getItem(sku));
      const denied = await rejection(readOnly.placeOrder({ [sku]: 1 }));

      assert.equal(unauthenticated.code, grpc.status.UNAUTHENTICATED);
      assert.equal(denied.code, grpc.status.PERMISSION_DENIED);
      assert.match(denied.details, /orders\.write/);
    } finally {
      anonymous.close();
      readOnly.close();
    }
  });

  it('watch stock sends the current level then the change an order makes', async () => {
    await freshItem();
    const watch = client.watchStock([sku]);
    try {
      const initial = (await watch.levels.next()).value;
      await client.placeOrder({ [sku]: 4 });
      const changed = (await watch.levels.next()).value;

      assert.deepEqual(initial, { sku, available: 10, reserved: 0, initial: true });
      assert.deepEqual(changed, { sku, available: 6, reserved: 4, initial: false });
    } finally {
      watch.cancel();
    }
  });
  //#if (IncludeTelemetry)

  it('stream telemetry acknowledges every batch and a resent batch is a duplicate stored once', async () => {
    const device = unique('node-device');
    const start = Date.now() - 600_000;
    const values = Array.from({ length: 250 }, (_, i) => 20 + i / 10);
    const batches = ServicesClient.telemetryBatches(device, 'temperature_c', values, { batchSize: 50, start });

    const first = await client.streamTelemetry(batches);
    const again = await client.streamTelemetry(batches.slice(-2));

    assert.deepEqual(first.map((a) => a.batchId), batches.map((b) => b.batchId));
    assert.equal(first.reduce((n, a) => n + a.acceptedPoints, 0), 250);
    assert.ok(first.every((a) => !a.duplicate));
    assert.ok(again.every((a) => a.duplicate));
    const stored = await client.queryTelemetry(device, new Date(start - 1000), new Date(Date.now() + 1000));
    assert.equal(stored.length, 250);
    assert.equal(new Set(stored.map((p) => `${p.timestamp.seconds}.${p.timestamp.nanos}`)).size, 250);
  });
  //#endif
});
