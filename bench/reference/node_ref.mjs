// Reference: a bare Node socket.io server (what the replaced NestJS service runs on), speaking the
// same events as the service — no authentication, no rate limits, no history, no metrics.
//
//   node reference/node_ref.mjs --port 3101
import { createServer } from "node:http";
import { randomUUID } from "node:crypto";
import { Server } from "socket.io";

const portIndex = process.argv.indexOf("--port");
const port = Number(portIndex > 0 ? process.argv[portIndex + 1] : process.env.PORT || 3101);

const http = createServer((req, res) => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end('{"status":"ok"}');
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
});

http.listen(port, "127.0.0.1", () => console.log(`node reference on 127.0.0.1:${port}`));
process.on("SIGTERM", () => {
  io.close();
  process.exit(0);
});
