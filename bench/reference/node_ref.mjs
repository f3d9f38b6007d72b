// Reference: a bare Node socket.io server (what the replaced NestJS service runs on), speaking the
// same events as the service — no authentication, no rate limits, no history, no metrics.
//
//   node reference/node_ref.mjs --port 3101
import { createServer } from "node:http";
import { randomUUID } from "node:crypto";
import { Server } from "socket.io";

const portIndex = process.argv.indexOf("--port");
const port = Number(portIndex > 0 ? process.argv[portIndex + 1] : process.env.PORT || 3101);

// Its flash sale is the least a sale can do: stock is an in-memory counter (one process), and each
// sale sends what the service sends to the stream's room — one order:purchase:notification, and
// live:product:soldout when the last unit goes.
const flash = new Map(); // product id -> { stock, room }
const send = (res, status, body) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
};
const readJson = (req) =>
  new Promise((resolve) => {
    let raw = "";
    req.on("data", (chunk) => (raw += chunk));
    req.on("end", () => resolve(raw ? JSON.parse(raw) : {}));
  });
const productJson = (id, p) => ({ id, stock: p.stock, status: p.stock === 0 ? "SOLD_OUT" : "AVAILABLE" });

const http = createServer(async (req, res) => {
  const url = req.url.split("?")[0];
  if (req.method === "POST" && url === "/ref/flash") {
    const { stock, room } = await readJson(req);
    const id = randomUUID();
    flash.set(id, { stock: Number(stock), room });
    return send(res, 201, { success: true, data: { id } });
  }
  const product = url.match(/^\/api\/v1\/products\/([^/]+)$/);
  if (req.method === "GET" && product) {
    const p = flash.get(product[1]);
    return p ? send(res, 200, { success: true, data: productJson(product[1], p) }) : send(res, 404, { success: false });
  }
  if (req.method === "POST" && url === "/api/v1/orders/direct") {
    const id = (await readJson(req)).items[0].productId;
    const p = flash.get(id);
    if (!p || p.stock <= 0) return send(res, 409, { success: false, errorCode: "PRODUCT_SOLD_OUT" });
    p.stock -= 1;
    const room = io.of("/").to(`stream:${p.room}`);
    const notice = { streamKey: p.room, displayName: "viewer", productName: "Flash" };
    room.emit("order:purchase:notification", { type: "order:purchase:notification", data: notice });
    if (p.stock === 0) room.emit("live:product:soldout", { type: "live:product:soldout", data: productJson(id, p) });
    return send(res, 201, { success: true, data: { id: randomUUID(), items: [{ productId: id, quantity: 1 }] } });
  }
  // Its auction: an in-memory counter; each accepted bid sends one auction:updated (not
  // coalesced) to the stream's room, and a timer sends auction:ended at endsAt.
  if (req.method === "POST" && url === "/ref/auction") {
    const { room, startingPrice, increment, durationSeconds } = await readJson(req);
    const id = randomUUID();
    const cents = (m) => Math.round(Number(m) * 100);
    auctions.set(id, { room, start: cents(startingPrice), increment: cents(increment ?? "1.00"), duration: Number(durationSeconds), status: "SCHEDULED", price: null, version: 1, bids: 0 });
    return send(res, 201, { success: true, data: { id } });
  }
  const start = url.match(/^\/api\/v1\/auctions\/([^/]+)\/start$/);
  if (req.method === "POST" && start) {
    const a = auctions.get(start[1]);
    if (!a) return send(res, 404, { success: false });
    a.status = "RUNNING";
    a.version += 1;
    a.endsAt = Date.now() + a.duration * 1000;
    setTimeout(() => {
      a.status = "ENDED";
      a.version += 1;
      const data = { ...auctionEvent(start[1], a), status: "ENDED", finalPrice: money(a.price) };
      io.of("/").to(`stream:${a.room}`).emit("auction:ended", { type: "auction:ended", data });
    }, a.duration * 1000);
    return send(res, 200, { success: true, data: { id: start[1], status: "RUNNING", minimumBid: money(a.start) } });
  }
  send(res, 200, { status: "ok" });
});
const auctions = new Map(); // auction id -> state
const money = (c) => (c === null ? null : (c / 100).toFixed(2));
const auctionEvent = (id, a) => ({
  auctionId: id,
  currentPrice: money(a.price),
  bidCount: a.bids,
  version: a.version,
  endsAt: new Date(a.endsAt).toISOString(),
  serverTime: new Date().toISOString(),
});
const io = new Server(http, {
  transports: ["websocket", "polling"],
  pingInterval: 25_000,
  pingTimeout: 60_000,
  cors: { origin: true },
});

const ok = (ack, data = {}) => typeof ack === "function" && ack({ success: true, data });

io.of("/chat").on("connection", (socket) => {
  socket.on("chat:join-room", ({ liveId } = {}, ack) => {
    socket.join(`live:${liveId}`);
    ok(ack, { liveId });
  });
  socket.on("chat:send-message", ({ liveId, message, clientMessageId } = {}, ack) => {
    const data = {
      id: randomUUID(),
      liveId,
      userId: socket.id,
      username: "viewer",
      message,
      clientMessageId: clientMessageId ?? null,
      timestamp: new Date().toISOString(),
    };
    io.of("/chat").to(`live:${liveId}`).emit("chat:message", { type: "chat:message", data });
    ok(ack, data);
  });
});

io.of("/streaming").on("connection", (socket) => {
  socket.on("stream:viewer:join", ({ streamKey } = {}, ack) => {
    socket.join(`stream:${streamKey}`);
    ok(ack, { streamKey });
  });
});

io.of("/").on("connection", (socket) => {
  socket.on("join:stream", ({ streamId } = {}, ack) => {
    socket.join(`stream:${streamId}`);
    ok(ack, { streamId });
  });
  socket.on("auction:bid", ({ auctionId, amount } = {}, ack) => {
    const a = auctions.get(auctionId);
    const reply = (body) => typeof ack === "function" && ack(body);
    if (!a || a.status !== "RUNNING") return reply({ success: false, errorCode: "AUCTION_NOT_RUNNING" });
    const least = a.price === null ? a.start : a.price + a.increment;
    const asked = Math.round(Number(amount) * 100);
    if (asked < least) return reply({ success: false, errorCode: "BID_TOO_LOW", details: { minimumBid: money(least) } });
    a.price = asked;
    a.version += 1;
    a.bids += 1;
    const data = { ...auctionEvent(auctionId, a), minimumBid: money(a.price + a.increment) };
    io.of("/").to(`stream:${a.room}`).emit("auction:updated", { type: "auction:updated", data });
    reply({ success: true, data: { ...data, accepted: true, amount: data.currentPrice } });
  });
});

http.listen(port, "127.0.0.1", () => console.log(`node reference on 127.0.0.1:${port}`));
process.on("SIGTERM", () => {
  io.close();
  process.exit(0);
});
