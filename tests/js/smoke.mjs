// Drives a running Dorami API with the official Socket.IO JavaScript client, the way a browser
// front end connects. Usage: node smoke.mjs <url> <accessToken> <streamKey>
// Prints one JSON line per step; prints {"step":"ready-for-product"} and waits for the product
// broadcast the test then triggers; exits 0 when every step passed, 1 otherwise.
import { io } from "socket.io-client";

const [url, token, streamKey] = process.argv.slice(2);
const WAIT_MS = 8000;
const log = (step, extra = {}) => console.log(JSON.stringify({ step, ...extra }));
const sockets = [];

function open(namespace, auth) {
  const socket = io(url + namespace, {
    transports: ["websocket", "polling"],
    reconnection: false,
    // A function, so that a reconnect would send the current token rather than a stale one.
    auth: auth === undefined ? undefined : (cb) => cb(auth),
  });
  sockets.push(socket);
  return socket;
}

function once(socket, event, predicate = () => true) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${WAIT_MS} ms`)), WAIT_MS);
    const handler = (payload) => {
      if (!predicate(payload)) return;
      clearTimeout(timer);
      socket.off(event, handler);
      resolve(payload);
    };
    socket.on(event, handler);
  });
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function main() {
  // 1. No token: refused with the error code as the connect_error message.
  const anonymous = open("/chat");
  const refused = await once(anonymous, "connect_error");
  check(refused.message === "UNAUTHORIZED", `expected UNAUTHORIZED, got ${refused.message}`);
  log("refused-without-token", { message: refused.message });

  // 2. With a token: connected, joined, history delivered.
  const chat = open("/chat", { token });
  await once(chat, "connect");
  const history = once(chat, "chat:history");
  const joined = await chat.timeout(WAIT_MS).emitWithAck("chat:join-room", { liveId: streamKey });
  check(joined.success === true, `join failed: ${JSON.stringify(joined)}`);
  await history;
  log("joined", { room: joined.data.roomName });

  // 3. Chat round trip.
  const echoed = once(chat, "chat:message", (p) => p.data.clientMessageId === "js-1");
  const sent = await chat.timeout(WAIT_MS).emitWithAck("chat:send-message", {
    liveId: streamKey, message: "hello from <b>node</b>", clientMessageId: "js-1",
  });
  check(sent.success === true, `send failed: ${JSON.stringify(sent)}`);
  const message = (await echoed).data;
  check(message.message === "hello from node", `unexpected text ${message.message}`);
  log("round-trip", { id: message.id });

  // 4. History on join: a second tab sees the message.
  const tab = open("/chat", { token });
  await once(tab, "connect");
  const tabHistory = once(tab, "chat:history");
  await tab.timeout(WAIT_MS).emitWithAck("chat:join-room", { liveId: streamKey });
  const messages = (await tabHistory).data.messages;
  check(messages.some((m) => m.id === message.id), "history lacks the message");
  log("history", { count: messages.length });

  // 5. Rate limit: 20 messages per 10 s per user; the socket stays connected.
  let limited = null;
  for (let i = 0; i < 21 && !limited; i += 1) {
    const answer = await chat.timeout(WAIT_MS).emitWithAck("chat:send-message", { liveId: streamKey, message: `m${i}` });
    if (!answer.success) limited = answer;
  }
  check(limited && limited.errorCode === "RATE_LIMIT_EXCEEDED", `not limited: ${JSON.stringify(limited)}`);
  check(limited.retryAfter >= 1 && chat.connected, "retryAfter missing or socket closed");
  log("rate-limited", { retryAfter: limited.retryAfter });

  // 6. A product broadcast to the stream's room in `/`.
  const root = open("/", { token });
  await once(root, "connect");
  const joinedStream = await root.timeout(WAIT_MS).emitWithAck("join:stream", { streamId: streamKey });
  check(joinedStream.success === true, "join:stream failed");
  const product = once(root, "live:product:updated");
  log("ready-for-product");
  const update = await product;
  log("product", { id: update.data.id });
}

const deadline = setTimeout(() => {
  log("timeout");
  process.exit(1);
}, 60000);

main()
  .then(() => {
    log("ok");
    clearTimeout(deadline);
    sockets.forEach((s) => s.close());
    process.exit(0);
  })
  .catch((error) => {
    log("failed", { error: String(error && error.message) });
    sockets.forEach((s) => s.close());
    process.exit(1);
  });
