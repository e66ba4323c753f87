// The browser page: stock levels live from Inventory.WatchStock and ordering through Orders.PlaceOrder, both over
// gRPC-Web with Connect-ES clients generated from protos/ (src/gen, `npm run generate`).
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";

import { InventoryService } from "./gen/inventory/v1/inventory_pb";
import { OrderService, OrderStatus } from "./gen/orders/v1/orders_pb";

/** Served next to the page: where the services' gRPC-Web endpoints are. */
interface PageConfig {
  inventory: string;
  orders: string;
}

interface Session {
  token: string;
  customer: string;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const rows = new Map<string, HTMLTableRowElement>();
const names = new Map<string, string>();

/**
 * The page's token: from the address's fragment (#token=...&customer=..., never sent to a server), else from the
 * DevHost's Development-only /dev/token. Outside Development a real sign-in (OIDC) would provide it.
 */
async function signIn(): Promise<Session> {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const token = fragment.get("token");
  if (token) {
    return { token, customer: fragment.get("customer") ?? subjectOf(token) };
  }

  const response = await fetch("dev/token", { method: "POST" });
  if (!response.ok) {
    throw new Error(`no token: /dev/token answered ${response.status} (it exists only in Development)`);
  }
  return (await response.json()) as Session;
}

function subjectOf(token: string): string {
  const claims = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))) as { sub?: string };
  return claims.sub ?? "";
}

function bearer(token: string): Interceptor {
  return (next) => (request) => {
    request.header.set("authorization", `Bearer ${token}`);
    return next(request);
  };
}

function showLevel(sku: string, available: number, reserved: number, initial: boolean) {
  let row = rows.get(sku);
  if (!row) {
    row = document.createElement("tr");
    row.dataset.sku = sku;
    for (const cls of ["", "", "num available", "num reserved"]) {
      row.insertCell().className = cls;
    }
    row.cells[0].textContent = sku;
    row.cells[1].textContent = names.get(sku) ?? "";
    rows.set(sku, row);
    const body = $<HTMLTableSectionElement>("stock");
    const after = [...body.rows].find((r) => (r.dataset.sku ?? "") > sku);
    body.insertBefore(row, after ?? null);
    const option = new Option(sku, sku);
    $<HTMLSelectElement>("sku").add(option);
  }

  row.cells[2].textContent = String(available);
  row.cells[3].textContent = String(reserved);
  if (!initial) {
    row.classList.remove("changed");
    void row.offsetWidth; // restart the highlight
    row.classList.add("changed");
  }
}

function setStatus(text: string, live: boolean) {
  const status = $("status");
  status.textContent = text;
  status.className = live ? "live" : "down";
}

/** google.rpc.PreconditionFailure violations (type, subject, description), read straight off the wire. */
function preconditions(error: ConnectError): string[] {
  const lines: string[] = [];
  for (const detail of error.details) {
    if (!("type" in detail) || detail.type !== "google.rpc.PreconditionFailure") {
      continue;
    }
    const failure = new BinaryReader(detail.value);
    while (failure.pos < failure.len) {
      const [field, wire] = failure.tag();
      if (field !== 1) {
        failure.skip(wire);
        continue;
      }
      const violation = new BinaryReader(failure.bytes());
      const parts = ["", "", ""];
      while (violation.pos < violation.len) {
        const [f, w] = violation.tag();
        if (f >= 1 && f <= 3) {
          parts[f - 1] = violation.string();
        } else {
          violation.skip(w);
        }
      }
      lines.push(`${parts[1]}: ${parts[0]} (${parts[2]})`);
    }
  }
  return lines;
}

/** An item that appears after the page loaded: fetch its name once. */
function nameLater(sku: string, getName: (sku: string) => Promise<string>) {
  if (names.has(sku)) {
    return;
  }
  names.set(sku, "");
  getName(sku)
    .then((name) => {
      names.set(sku, name);
      const row = rows.get(sku);
      if (row) {
        row.cells[1].textContent = name;
      }
    })
    .catch(() => names.delete(sku));
}

async function main() {
  const [config, session] = await Promise.all([fetch("config.json").then((r) => r.json() as Promise<PageConfig>), signIn()]);
  $("customer").textContent = session.customer;
  const interceptors = [bearer(session.token)];
  const inventory = createClient(InventoryService, createGrpcWebTransport({ baseUrl: config.inventory, interceptors }));
  const orders = createClient(OrderService, createGrpcWebTransport({ baseUrl: config.orders, interceptors }));

  $<HTMLFormElement>("order").addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = $("result");
    const sku = $<HTMLSelectElement>("sku").value;
    const quantity = Number($<HTMLInputElement>("quantity").value);
    result.className = "";
    result.textContent = "placing...";
    try {
      const { order } = await orders.placeOrder(
        { requestId: crypto.randomUUID(), customerId: session.customer, lines: [{ sku, quantity }] },
        { timeoutMs: 10_000 },
      );
      result.className = "ok";
      result.textContent = `Order ${order?.orderId}: ${OrderStatus[order?.status ?? OrderStatus.UNSPECIFIED]} (${sku} x${quantity})`;
    } catch (error) {
      const failure = ConnectError.from(error);
      result.className = "error";
      result.textContent = [`Rejected: ${Code[failure.code]}: ${failure.rawMessage}`, ...preconditions(failure)].join("\n");
    }
  });

  const page = await inventory.listItems({ pageSize: 1000 }, { timeoutMs: 10_000 });
  for (const item of page.items) {
    names.set(item.sku, item.name);
  }

  // WatchStock: the current levels, then every change; reconnect (current levels again) if the stream ends.
  for (;;) {
    try {
      for await (const { level, initial } of inventory.watchStock({})) {
        setStatus("live", true);
        if (level) {
          nameLater(level.sku, async (sku) => (await inventory.getItem({ sku }, { timeoutMs: 10_000 })).item?.name ?? "");
          showLevel(level.sku, level.available, level.reserved, initial);
        }
      }
    } catch (error) {
      const failure = ConnectError.from(error);
      setStatus(`stock stream ended (${Code[failure.code]}), reconnecting...`, false);
      if (failure.code === Code.Unauthenticated || failure.code === Code.PermissionDenied) {
        return;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

main().catch((error: unknown) => {
  setStatus(String(error instanceof Error ? error.message : error), false);
});
