// Live auction: V viewers in the stream's room of `/`, the first B of them bidding on one auction
// as fast as they can (the next bid as soon as the last is answered) for S seconds. Starts the
// auction itself once every viewer is in the room. Reports accepted bids/s, how long after an
// accepted bid was sent every viewer saw it reflected (the first auction:updated — or
// auction:ended — with a version at or above the bid's), and how long after endsAt every viewer
// got auction:ended. One JSON line.
//
//   node loadgen/auction.mjs --url http://127.0.0.1:3001 --accounts accounts.json --room STREAMKEY \
//        --auction ID [--admin-token T] [--viewers 1000] [--bidders 200] [--seconds 10] [--server-pid PID]
import { readFileSync } from "node:fs";
import { Histogram, ServerSampler, connectSocket, countBy, emitAck, emitResult, need, nowMs, parseArgs, pool, sleep } from "./common.mjs";
import { request } from "./http.mjs";

const args = parseArgs();
need(args, "url", "accounts", "room", "auction");
const setup = JSON.parse(readFileSync(args.accounts, "utf8"));
const viewerCount = args.viewers ?? 1000;
const bidderCount = Math.min(args.bidders ?? 200, viewerCount);
const seconds = args.seconds ?? 10;
const increment = Math.round(Number(args.increment ?? "1.00") * 100);
const money = (c) => (c / 100).toFixed(2);
const cents = (m) => Math.round(Number(m) * 100);
const wallNow = nowMs; // wall-clock milliseconds (common.mjs)

async function main() {
  const viewers = [];
  const errors = {};
  await pool([...Array(viewerCount).keys()], 200, async (i) => {
    const account = setup.accounts[i % setup.accounts.length];
    const res = await connectSocket(args.url, "/", account.token);
    if (!res.ok) return countBy(errors, res.error || "connect");
    const viewer = { index: i, socket: res.socket, updates: [], ended: null, minimum: null };
    res.socket.on("auction:updated", (payload) => {
      const data = payload && payload.data;
      if (!data || data.auctionId !== args.auction) return;
      viewer.updates.push([data.version, wallNow()]);
      if (data.minimumBid && (viewer.minimum === null || cents(data.minimumBid) > viewer.minimum)) viewer.minimum = cents(data.minimumBid);
    });
    res.socket.on("auction:ended", (payload) => {
      const data = payload && payload.data;
      if (data && data.auctionId === args.auction && !viewer.ended) viewer.ended = { at: wallNow(), data };
    });
    const ack = await emitAck(res.socket, "join:stream", { streamId: args.room });
    if (ack && ack.success === false) countBy(errors, `join:${ack.errorCode}`);
    viewers.push(viewer);
  });

  const started = await request(`${args.url}/api/v1/auctions/${args.auction}/start`, {
    method: "POST",
    token: args["admin-token"],
  });
  if (started.status !== 200) throw new Error(`start: ${started.status} ${JSON.stringify(started.body)}`);
  const startingPrice = cents(started.body.data.minimumBid ?? started.body.data.startingPrice ?? "10.00");

  const sampler = new ServerSampler(args["server-pid"]).start();
  const accepted = []; // [version, sentAt]
  const refusals = {};
  let answered = 0;
  const t0 = nowMs();
  const until = t0 + seconds * 1000;
  const bidders = viewers.slice(0, bidderCount);
  await Promise.all(
    bidders.map(async (viewer) => {
      let n = 0;
      while (nowMs() < until && !viewer.ended) {
        const least = viewer.minimum ?? startingPrice;
        const amount = money(least + Math.floor(Math.random() * 3) * increment);
        const sentAt = wallNow();
        const ack = await emitAck(viewer.socket, "auction:bid", { auctionId: args.auction, amount, bidId: `v${viewer.index}-${n++}` }, 10_000);
        answered++;
        if (ack.success) {
          accepted.push([ack.data.version, sentAt]);
          const next = cents(ack.data.currentPrice) + increment;
          if (viewer.minimum === null || next > viewer.minimum) viewer.minimum = next;
        } else {
          countBy(refusals, ack.errorCode || "unknown");
          const least = ack.details && ack.details.minimumBid;
          if (least && (viewer.minimum === null || cents(least) > viewer.minimum)) viewer.minimum = cents(least);
          if (ack.errorCode === "RATE_LIMIT_EXCEEDED") await sleep(Math.min((ack.retryAfter || 1) * 1000, Math.max(until - nowMs(), 0)));
          else if (ack.errorCode === "ALREADY_LEADING") await sleep(20);
          else if (ack.errorCode === "AUCTION_NOT_RUNNING") break;
        }
      }
    }),
  );
  const biddingMs = nowMs() - t0;
  const deadline = nowMs() + (args["end-wait"] ?? 20) * 1000;
  while (viewers.some((v) => !v.ended) && nowMs() < deadline) await sleep(20);
  const server = sampler.stop();
  // The sampled window, so that CPU per answered bid (server CPU × window ÷ bids) can be read.
  const serverWindowS = Math.round(nowMs() - t0) / 1000;

  // Every accepted bid at every viewer: the first update (or the end) at or above its version.
  const reflect = new Histogram();
  let missing = 0;
  for (const viewer of viewers) {
    const updates = viewer.updates;
    for (const [version, sentAt] of accepted) {
      let lo = 0;
      let hi = updates.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (updates[mid][0] >= version) hi = mid;
        else lo = mid + 1;
      }
      let at = lo < updates.length ? updates[lo][1] : null;
      if (viewer.ended && viewer.ended.data.version >= version && (at === null || viewer.ended.at < at)) at = viewer.ended.at;
      if (at === null) missing++;
      else reflect.record(at - sentAt);
    }
  }
  const endLatency = new Histogram();
  let outOfOrder = 0;
  for (const viewer of viewers) {
    if (viewer.ended) endLatency.record(viewer.ended.at - Date.parse(viewer.ended.data.endsAt));
    for (let i = 1; i < viewer.updates.length; i++) if (viewer.updates[i][0] <= viewer.updates[i - 1][0]) outOfOrder++;
  }
  for (const viewer of viewers) viewer.socket.close();
  const ended = viewers.find((v) => v.ended);
  emitResult({
    scenario: "auction",
    url: args.url,
    viewers: viewerCount,
    viewers_connected: viewers.length,
    viewer_errors: errors,
    bidders: bidders.length,
    bid_seconds: Math.round(biddingMs) / 1000,
    bids_answered: answered,
    bids_accepted: accepted.length,
    accepted_bids_per_s: Math.round((accepted.length / (biddingMs / 1000)) * 10) / 10,
    refusals_by_code: refusals,
    bid_to_update_ms: reflect.summary(),
    reflections_missing: missing,
    updates_out_of_order: outOfOrder,
    ended_seen_by: viewers.filter((v) => v.ended).length,
    end_to_ended_ms: endLatency.summary(),
    final_price: ended ? ended.ended.data.finalPrice : null,
    ...server,
    server_window_s: serverWindowS,
    server_cpu_ms_per_bid: answered && server.server_cpu_pct != null ? Math.round((server.server_cpu_pct * 10 * serverWindowS) / answered * 100) / 100 : null,
    at: new Date().toISOString(),
  });
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
