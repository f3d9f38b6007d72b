// Flash sale: N buyers (logged in beforehand, profiles complete) order the same product at the
// same moment; V viewers connected to `/` in the stream's room wait for live:product:soldout.
// Reports orders/s, order latency, units sold (must equal the stock), errors by status and code,
// and how long after the last sale every viewer had seen the sold-out event. One JSON line.
//
//   node loadgen/flashsale.mjs --url http://127.0.0.1:3001 --accounts accounts.json \
//        --product ID --room STREAMKEY --buyers 2000 [--viewers 2000] [--server-pid PID]
//        [--order-path /api/v1/orders/direct]   (flask-ref's sale under the contract: /ref/orders-floor)
import { readFileSync } from "node:fs";
import {
  Histogram,
  ServerSampler,
  connectSocket,
  countBy,
  emitAck,
  emitResult,
  need,
  nowMs,
  parseArgs,
  pool,
  sleep,
} from "./common.mjs";
import { request } from "./http.mjs";

const args = parseArgs();
need(args, "url", "accounts", "product", "room", "buyers");
const api = (path) => `${args.url}/api/v1${path}`;
const setup = JSON.parse(readFileSync(args.accounts, "utf8"));
const buyers = setup.accounts.slice(0, args.buyers);
if (buyers.length < args.buyers) throw new Error(`only ${buyers.length} accounts for ${args.buyers} buyers`);
const viewerCount = args.viewers ?? args.buyers;
const orderUrl = `${args.url}${args["order-path"] ?? "/api/v1/orders/direct"}`;

async function main() {
  // 1. Viewers in the stream's commerce room, waiting for the sold-out event.
  const soldoutAt = [];
  const viewerErrors = {};
  const sockets = [];
  await pool([...Array(viewerCount).keys()], 200, async (i) => {
    const account = setup.accounts[i % setup.accounts.length];
    const res = await connectSocket(args.url, "/", account.token);
    if (!res.ok) return countBy(viewerErrors, res.error || "connect");
    sockets.push(res.socket);
    let seen = false;
    res.socket.on("live:product:soldout", (payload) => {
      const data = payload && payload.data;
      if (!seen && data && data.id === args.product) {
        seen = true;
        soldoutAt.push(nowMs());
      }
    });
    const ack = await emitAck(res.socket, "join:stream", { streamId: args.room });
    if (ack && ack.success === false) countBy(viewerErrors, `join:${ack.errorCode}`);
  });

  const before = (await request(api(`/products/${args.product}`))).body;
  const stockBefore = before && before.data ? before.data.stock : null;

  // 2. Warm one keep-alive connection per buyer (browsers hold theirs), then fire all at once.
  if (!args["no-warm"]) {
    await Promise.all(buyers.map((b) => request(api("/health/live"), { token: b.token })));
  }
  const sampler = new ServerSampler(args["server-pid"]).start();
  const t0 = nowMs();
  const results = await Promise.all(
    buyers.map((b) =>
      request(orderUrl, { method: "POST", token: b.token, body: { items: [{ productId: args.product, quantity: 1 }] } }),
    ),
  );
  const lastResponseAt = Math.max(...results.map((r) => r.at));

  // 3. Wait (bounded) for every viewer to have seen sold-out.
  const deadline = nowMs() + (args["soldout-wait"] ?? 10) * 1000;
  while (soldoutAt.length < sockets.length && nowMs() < deadline) await sleep(20);
  const server = sampler.stop();

  const latency = new Histogram();
  const byStatus = {};
  const byCode = {};
  let lastSaleAt = 0;
  let sold = 0;
  for (const r of results) {
    latency.record(r.ms);
    countBy(byStatus, r.status || r.error || "network");
    if (r.status === 201 || r.status === 200) {
      const items = (r.body && r.body.data && r.body.data.items) || [];
      sold += items.reduce((a, it) => a + (it.quantity || 1), 0) || 1;
      lastSaleAt = Math.max(lastSaleAt, r.at);
    } else if (r.body && r.body.errorCode) {
      countBy(byCode, r.body.errorCode);
    }
  }
  const ok = results.filter((r) => r.status === 201 || r.status === 200).length;
  const saleTimes = results.filter((r) => r.status === 201 || r.status === 200).map((r) => r.at);
  const after = (await request(api(`/products/${args.product}`))).body;
  const delays = new Histogram();
  for (const at of soldoutAt) delays.record(Math.max(0, at - lastSaleAt));
  for (const s of sockets) s.close();

  emitResult({
    scenario: "flashsale",
    label: args.label || null,
    url: args.url,
    buyers: buyers.length,
    stock_before: stockBefore,
    orders_ok: ok,
    units_sold: sold,
    stock_after: after && after.data ? after.data.stock : null,
    status_after: after && after.data ? after.data.status : null,
    oversold: stockBefore !== null ? sold > stockBefore : null,
    responses_by_status: byStatus,
    errors_by_code: byCode,
    five_xx: results.filter((r) => r.status >= 500).length,
    burst_seconds: Math.round(lastResponseAt - t0) / 1000,
    requests_per_s: Math.round(buyers.length / ((lastResponseAt - t0) / 1000)),
    orders_per_s: lastSaleAt ? Math.round(ok / ((lastSaleAt - t0) / 1000)) : 0,
    // When the sales happened: a slow start (authentication, connection pool) and a slow
    // serialised section (the product's row lock) look different here.
    first_sale_after_start_ms: ok ? Math.round(Math.min(...saleTimes) - t0) : null,
    last_sale_after_start_ms: ok ? Math.round(lastSaleAt - t0) : null,
    order_latency_ms: latency.summary(),
    viewers: viewerCount,
    viewers_connected: sockets.length,
    viewer_errors: viewerErrors,
    soldout_seen_by: soldoutAt.length,
    soldout_missing: sockets.length - soldoutAt.length,
    // Receipt of sold-out minus receipt of the last successful order response (0 when the event
    // arrived first: the service broadcasts after commit, before the response is written).
    soldout_delay_after_last_sale_ms: delays.summary(),
    soldout_last_seen_after_start_ms: soldoutAt.length ? Math.round(Math.max(...soldoutAt) - t0) : null,
    ...server,
    at: new Date().toISOString(),
  });
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
