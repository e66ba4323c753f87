// Node client for the Contoso.Retail services: @grpc/grpc-js, with the contracts loaded from protos/ when the module
// loads (@grpc/proto-loader), so a contract change is picked up - or breaks - on the next run, no codegen step.
import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

export { grpc };

/** The well-known development key (public, so it protects nothing) from appsettings.Development.json. */
export const DEVELOPMENT_KEY = 'Y29udG9zby1yZXRhaWwtREVWRUxPUE1FTlQtT05MWS1zaWduaW5nLWtleS1uZXZlci1pbi1wcm9k';

const DEFAULTS = {
  inventory: 'http://127.0.0.1:5101',
  orders: 'http://127.0.0.1:5102',
  //#if (IncludeTelemetry)
  telemetry: 'http://127.0.0.1:5103',
  //#endif
};
const CALL_TIMEOUT_MS = 10_000;

/** The contracts folder: CONTOSO_RETAIL_PROTOS, else protos/ at the repository root. */
export const PROTOS = resolve(process.env.CONTOSO_RETAIL_PROTOS ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'protos'));

/** Where google/api/annotations.proto (the HTTP rules) is: GOOGLEAPIS_PROTOS, else what protos/googleapis-path finds. */
export const GOOGLEAPIS = process.env.GOOGLEAPIS_PROTOS ?? execFileSync('bash', [join(PROTOS, 'googleapis-path')], { encoding: 'utf8' }).trim();

function protoFiles(dir) {
  return readdirSync(dir, { recursive: true })
    .filter((f) => f.endsWith('.proto'))
    .map((f) => relative(PROTOS, join(dir, f)).split('\\').join('/'))
    .sort();
}

/** Every service, message and method option of protos/, as proto-loader describes them. */
export const definition = protoLoader.loadSync(protoFiles(PROTOS), {
  includeDirs: [PROTOS, GOOGLEAPIS],
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
});
const contracts = grpc.loadPackageDefinition(definition);

/**
 * What a method declares in its proto, e.g. methodRules('orders.v1.OrderService', 'PlaceOrder')
 * is { requiredScope: 'orders.write', idempotency: 'IDEMPOTENT' }.
 */
export function methodRules(service, method) {
  const options = definition[service]?.[method]?.options ?? {};
  return { requiredScope: options['(options.v1.required_scope)'] ?? '', idempotency: options.idempotency_level ?? 'IDEMPOTENCY_UNKNOWN' };
}

const base64url = (data) => Buffer.from(data).toString('base64url');

/**
 * A development token: an HS256 JWT signed with the services' development key (CONTOSO_RETAIL_DEV_SIGNING_KEY, else the
 * well-known one). The services accept it only when they run with Auth:DevSigningKey (Development, tests).
 */
export function devToken(scopes, { subject = 'node-client', lifetimeSeconds = 3600, key, issuer = 'contoso-retail-dev', audience = 'contoso-retail' } = {}) {
  const secret = Buffer.from(key ?? process.env.CONTOSO_RETAIL_DEV_SIGNING_KEY ?? DEVELOPMENT_KEY, 'base64');
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'HS256', typ: 'JWT' };
  const claims = {
    iss: issuer, aud: audience, sub: subject, scope: scopes.join(' '),
    iat: now, nbf: now, exp: now + lifetimeSeconds, jti: randomBytes(16).toString('hex'),
  };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}

// The google.rpc messages the services put in grpc-status-details-bin (wire-compatible subset).
const rpc = protobuf.Root.fromJSON({
  nested: {
    google: {
      nested: {
        rpc: {
          nested: {
            Any: { fields: { typeUrl: { id: 1, type: 'string' }, value: { id: 2, type: 'bytes' } } },
            Status: { fields: { code: { id: 1, type: 'int32' }, message: { id: 2, type: 'string' }, details: { id: 3, type: 'Any', rule: 'repeated' } } },
            Violation: { fields: { type: { id: 1, type: 'string' }, subject: { id: 2, type: 'string' }, description: { id: 3, type: 'string' } } },
            PreconditionFailure: { fields: { violations: { id: 1, type: 'Violation', rule: 'repeated' } } },
            FieldViolation: { fields: { field: { id: 1, type: 'string' }, description: { id: 2, type: 'string' } } },
            BadRequest: { fields: { fieldViolations: { id: 1, type: 'FieldViolation', rule: 'repeated' } } },
          },
        },
      },
    },
  },
});

/**
 * A failed call's status code name, message, and the google.rpc details it carried:
 * { code: 'FAILED_PRECONDITION', message, preconditions: [{ type, subject, description }], fieldViolations: [{ field, description }] }.
 */
export function errorDetails(error) {
  const result = { code: grpc.status[error.code] ?? String(error.code), message: error.details ?? '', preconditions: [], fieldViolations: [] };
  const [raw] = error.metadata?.get('grpc-status-details-bin') ?? [];
  if (!raw) {
    return result;
  }

  for (const detail of rpc.lookupType('google.rpc.Status').decode(raw).details) {
    const kind = detail.typeUrl.split('/').pop();
    if (kind === 'google.rpc.PreconditionFailure') {
      result.preconditions.push(...rpc.lookupType(kind).decode(detail.value).violations.map(({ type, subject, description }) => ({ type, subject, description })));
    } else if (kind === 'google.rpc.BadRequest') {
      result.fieldViolations.push(...rpc.lookupType(kind).decode(detail.value).fieldViolations.map(({ field, description }) => ({ field, description })));
    }
  }
  return result;
}

function target(url) {
  const { protocol, host } = new URL(url);
  return { address: host, credentials: protocol === 'https:' ? grpc.credentials.createSsl() : grpc.credentials.createInsecure() };
}

function unary(client, method, request, metadata) {
  return new Promise((resolvePromise, reject) => {
    client[method](request, metadata, { deadline: Date.now() + CALL_TIMEOUT_MS }, (error, response) => (error ? reject(error) : resolvePromise(response)));
  });
}

const delay = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Calls the services with a bearer token. Addresses default to CONTOSO_RETAIL_<SERVICE>_URL (CONTOSO_RETAIL_INVENTORY_URL,
 * CONTOSO_RETAIL_ORDERS_URL, ...), then the DevHost ports; the token to CONTOSO_RETAIL_TOKEN, else a development
 * token for `customer` (its subject). Orders acts for the customer the token names, so orders are for `customer`.
 */
export class ServicesClient {
  static SCOPES = [
    'inventory.read',
    'inventory.write',
    'orders.read',
    'orders.write',
    //#if (IncludeTelemetry)
    'telemetry.read',
    'telemetry.write',
    //#endif
  ];

  constructor({
    customer = 'node-client',
    inventory,
    orders,
    //#if (IncludeTelemetry)
    telemetry,
    //#endif
    token,
  } = {}) {
    const env = process.env;
    const make = (Service, url) => {
      const { address, credentials } = target(url);
      return new Service(address, credentials);
    };
    this.customer = customer;
    this.inventory = make(contracts.inventory.v1.InventoryService, inventory ?? env.CONTOSO_RETAIL_INVENTORY_URL ?? DEFAULTS.inventory);
    this.orders = make(contracts.orders.v1.OrderService, orders ?? env.CONTOSO_RETAIL_ORDERS_URL ?? DEFAULTS.orders);
    //#if (IncludeTelemetry)
    this.telemetry = make(contracts.telemetry.v1.TelemetryIngestService, telemetry ?? env.CONTOSO_RETAIL_TELEMETRY_URL ?? DEFAULTS.telemetry);
    //#endif
    this.token = token ?? env.CONTOSO_RETAIL_TOKEN ?? devToken(ServicesClient.SCOPES, { subject: customer });
  }

  close() {
    const clients = [
      this.inventory,
      this.orders,
      //#if (IncludeTelemetry)
      this.telemetry,
      //#endif
    ];
    for (const client of clients) {
      client.close();
    }
  }

  metadata() {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${this.token}`);
    return metadata;
  }

  async upsertItem(sku, name, available) {
    return (await unary(this.inventory, 'UpsertItem', { sku, name, available }, this.metadata())).item;
  }

  async getItem(sku) {
    return (await unary(this.inventory, 'GetItem', { sku }, this.metadata())).item;
  }

  async listItems() {
    const items = [];
    let pageToken = '';
    do {
      const page = await unary(this.inventory, 'ListItems', { pageToken }, this.metadata());
      items.push(...page.items);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return items;
  }

  /**
   * Places an order for `customer`; lines is { sku: quantity }. The same requestId again is a safe retry.
   * Not enough stock rejects with FAILED_PRECONDITION; errorDetails(error).preconditions names the SKUs.
   */
  async placeOrder(lines, { requestId = randomUUID(), customerId = this.customer } = {}) {
    const request = { requestId, customerId, lines: Object.entries(lines).map(([sku, quantity]) => ({ sku, quantity })) };
    return (await unary(this.orders, 'PlaceOrder', request, this.metadata())).order;
  }

  async getOrder(orderId) {
    return (await unary(this.orders, 'GetOrder', { orderId }, this.metadata())).order;
  }

  /**
   * WatchStock with no deadline: `for await (const level of watch.levels)` yields { sku, available, reserved,
   * initial } - the current levels first, then every change - until watch.cancel().
   */
  watchStock(skus = []) {
    const call = this.inventory.WatchStock({ skus }, this.metadata());
    async function* levels() {
      try {
        for await (const { level, initial } of call) {
          yield { sku: level.sku, available: level.available, reserved: level.reserved, initial };
        }
      } catch (error) {
        if (error.code !== grpc.status.CANCELLED) {
          throw error;
        }
      }
    }
    return { levels: levels(), cancel: () => call.cancel() };
  }
  //#if (IncludeTelemetry)

  /** Batches with ids "<device>-<seq>", one point a second from `start` (ms since the epoch; default: now - count). */
  static telemetryBatches(deviceId, metric, values, { batchSize = 100, firstSequence = 1, start = Date.now() - values.length * 1000 } = {}) {
    const points = values.map((value, i) => {
      const ms = start + i * 1000;
      return { deviceId, metric, value, timestamp: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 } };
    });
    const batches = [];
    for (let i = 0; i < points.length; i += batchSize) {
      batches.push({ batchId: `${deviceId}-${firstSequence + batches.length}`, points: points.slice(i, i + batchSize) });
    }
    return batches;
  }

  /**
   * Streams batches over StreamIngest and resolves with every acknowledgement. Each batch is acknowledged only
   * once committed; if the stream breaks (UNAVAILABLE), the unacknowledged batches go again on a new stream and
   * the server acknowledges an already stored batch_id as a duplicate instead of storing it twice.
   */
  async streamTelemetry(batches, { attempts = 5 } = {}) {
    const pending = new Map(batches.map((b) => [b.batchId, b]));
    const acks = [];
    for (let attempt = 1; attempt <= attempts && pending.size > 0; attempt++) {
      try {
        const call = this.telemetry.StreamIngest(this.metadata(), { deadline: Date.now() + 60_000 });
        for (const batch of [...pending.values()]) {
          call.write(batch);
        }
        call.end();
        for await (const ack of call) {
          pending.delete(ack.batchId);
          acks.push(ack);
        }
      } catch (error) {
        if (error.code !== grpc.status.UNAVAILABLE || attempt === attempts) {
          throw error;
        }
        await delay(Math.min(100 * 2 ** attempt, 2000));
      }
    }
    if (pending.size > 0) {
      throw new Error(`${pending.size} batch(es) were never acknowledged`);
    }
    return acks;
  }

  /** The device's points in [start, end) (Dates), in time order. */
  queryTelemetry(deviceId, start, end, metric = '') {
    const stamp = (date) => ({ seconds: Math.floor(date.getTime() / 1000), nanos: (date.getTime() % 1000) * 1e6 });
    const call = this.telemetry.Query({ deviceId, metric, startTime: stamp(start), endTime: stamp(end) }, this.metadata(), { deadline: Date.now() + CALL_TIMEOUT_MS });
    return (async () => {
      const points = [];
      for await (const response of call) {
        points.push(...response.points);
      }
      return points;
    })();
  }
  //#endif
}
