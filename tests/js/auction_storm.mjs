// Bidders and watchers of one auction with the official Socket.IO JavaScript client, for
// tests/auctions/test_realtime.py. Usage: node auction_storm.mjs <config.json>
// config: {url, streamKey, auctionId, tokens: [...], groups: [n1, n2, ...], bidSeconds, endWaitSeconds}
// Connects the sockets group by group: after each group it prints {"step":"connected","group":i}
// and waits for a line on stdin (the test pauses a worker so that each group lands on another),
// then on "bid" every bidder bids as fast as it can (the next bid as soon as the last is answered)
// for bidSeconds, waits for auction:ended, writes what every socket saw to resultPath and prints
// {"step":"result"}.
import { readFileSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const lines = createInterface({ input: process.stdin });
const waiting = [];
lines.on("line", (line) => waiting.shift()?.(line));
const nextLine = () => new Promise((resolve) => waiting.push(resolve));
const log = (step, extra = {}) => console.log(JSON.stringify({ step, ...extra }));

// A connection the server refuses for a moment (SERVICE_UNAVAILABLE: a dependency slow to answer
// on a loaded machine) is tried again, as a real client does; anything else fails the run.
async function connect(token, attempt = 1) {
  try {
    return await connectOnce(token);
  } catch (error) {
    if (error && error.message === "SERVICE_UNAVAILABLE" && attempt < 10) {
      await new Promise((r) => setTimeout(r, 200 * attempt));
      return connect(token, attempt + 1);
    }
    throw error;
  }
}

function connectOnce(token) {
  return new Promise((resolve, reject) => {
    const socket = io(config.url, { transports: ["websocket"], reconnection: false, auth: { token } });
    const state = { socket, updates: [], ended: [], acks: [], minimum: null, outbid: 0 };
    socket.on("auction:updated", (event) => {
      state.updates.push(event.data.version);
      if (event.data.minimumBid) state.minimum = bigger(state.minimum, event.data.minimumBid);
    });
    socket.on("auction:ended", (event) => state.ended.push(event.data));
    socket.on("auction:outbid", () => (state.outbid += 1));
    socket.on("connect_error", (error) => {
      socket.close();
      reject(error);
    });
    socket.on("connect", () =>
      socket.emit("join:stream", { streamId: config.streamKey }, (ack) => (ack.success ? resolve(state) : reject(ack))),
    );
  });
}

const cents = (amount) => Math.round(Number(amount) * 100);
const money = (value) => (value / 100).toFixed(2);
const bigger = (a, b) => (a === null || cents(b) > cents(a) ? b : a);

async function bidLoop(state, index, until) {
  let counter = 0;
  while (Date.now() < until && state.ended.length === 0) {
    // The least bid, or up to two increments above it: bidders do not all ask the same amount.
    const least = cents(state.minimum ?? config.startingPrice);
    const amount = money(least + Math.floor(Math.random() * 3) * cents(config.increment));
    const bidId = `b${index}-${counter++}`;
    const ack = await state.socket.timeout(10000).emitWithAck("auction:bid", {
      auctionId: config.auctionId,
      amount,
      bidId,
    }).catch(() => ({ success: false, errorCode: "NO_ACK" }));
    state.acks.push({ bidId, amount, success: ack.success, errorCode: ack.errorCode ?? null, data: ack.data ?? null });
    if (ack.success) {
      state.minimum = bigger(state.minimum, money(cents(ack.data.currentPrice) + cents(config.increment)));
    } else if (ack.details?.minimumBid) {
      state.minimum = bigger(state.minimum, ack.details.minimumBid);
    } else if (ack.errorCode === "RATE_LIMIT_EXCEEDED") {
      await new Promise((r) => setTimeout(r, Math.min((ack.retryAfter ?? 1) * 1000, Math.max(until - Date.now(), 0))));
    } else if (ack.errorCode === "ALREADY_LEADING") {
      await new Promise((r) => setTimeout(r, 20));
    } else if (ack.errorCode === "AUCTION_NOT_RUNNING") {
      break;
    }
  }
}

const states = [];
let offset = 0;
for (const [group, size] of config.groups.entries()) {
  const tokens = config.tokens.slice(offset, offset + size);
  offset += size;
  states.push(...(await Promise.all(tokens.map(connect))));
  log("connected", { group });
  await nextLine();
}
log("ready");
await nextLine();
const bidders = config.bidders;
const until = Date.now() + config.bidSeconds * 1000;
await Promise.all(states.slice(0, bidders).map((state, index) => bidLoop(state, index, until)));
log("bidding-done");
const deadline = Date.now() + config.endWaitSeconds * 1000;
while (Date.now() < deadline && states.some((state) => state.ended.length === 0)) {
  await new Promise((r) => setTimeout(r, 50));
}
await new Promise((r) => setTimeout(r, 500)); // a second auction:ended, if any, would show now
// Written to a file: a large stdout line may be cut short by process.exit.
writeFileSync(config.resultPath, JSON.stringify({
  sockets: states.map((state, index) => ({
    bidder: index < bidders ? index : null,
    acks: state.acks,
    updates: state.updates,
    ended: state.ended,
    outbid: state.outbid,
  })),
}));
log("result");
for (const state of states) state.socket.close();
process.exit(0);
