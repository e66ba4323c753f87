// `npm run demo` (or node src/demo.js): a short tour against running services (DevHost by default).
// Places an order for one unit of the first item in stock while watching that item's stock level, then calls the
// other services. Addresses: CONTOSO_RETAIL_<SERVICE>_URL (CONTOSO_RETAIL_INVENTORY_URL, CONTOSO_RETAIL_ORDERS_URL, ...).
import { ServicesClient, errorDetails } from './index.js';

const client = new ServicesClient({ customer: 'node-demo' });
try {
  const item = (await client.listItems()).find((i) => i.available > 0);
  if (!item) {
    console.error('no item in stock; start DevHost (it seeds sample items)');
    process.exitCode = 1;
  } else {
    const watch = client.watchStock([item.sku]);
    const show = ({ value }) => console.log(`watch: ${value.sku} available ${value.available}, reserved ${value.reserved}`);
    show(await watch.levels.next());
    const order = await client.placeOrder({ [item.sku]: 1 });
    console.log(`order ${order.orderId}: ${order.status}`);
    show(await watch.levels.next());
    watch.cancel();
    //#if (IncludeTelemetry)

    const values = Array.from({ length: 50 }, (_, i) => 20 + Math.sin(i / 5));
    const acks = await client.streamTelemetry(ServicesClient.telemetryBatches('node-sensor', 'temperature_c', values, { batchSize: 10 }));
    console.log(`telemetry: ${acks.length} batch(es) acknowledged, ${acks.reduce((n, a) => n + a.acceptedPoints, 0)} point(s)`);
    //#endif
  }
} catch (error) {
  const details = errorDetails(error);
  console.error(`error: ${details.code}: ${details.message}`);
  for (const v of details.preconditions) {
    console.error(`  precondition ${v.type} ${v.subject}: ${v.description}`);
  }
  process.exitCode = 1;
} finally {
  client.close();
}
