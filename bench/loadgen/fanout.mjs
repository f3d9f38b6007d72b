// Fan-out: N viewers join one chat room on /chat; S of them also send at a total rate R; every
// viewer measures receive time minus the send time written in the message. One JSON line.
//
//   node loadgen/fanout.mjs --url http://127.0.0.1:3001 --room KEY --viewers 1000 --rate 50 \
//        --duration 10 [--senders 40] [--procs 2] [--tokens accounts.json] [--server-pid PID]
//
// The coordinator forks --procs worker processes (one Node process cannot read 100k messages/s)
// and splits the viewers round-robin between them; senders are the first S viewers, each a
// distinct account when --tokens is given (the service limits chat to 20 messages / 10 s per user).
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import {
  Histogram,
  ServerSampler,
  connectSocket,
  countBy,
  emitAck,
  emitResult,
  loadTokens,
  need,
  nowMs,
  parseArgs,
  pool,
  selfCpuPct,
  sleep,
} from "./common.mjs";

const SELF = fileURLToPath(import.meta.url);

if (process.argv.includes("--worker")) {
  runWorker();
} else {
  runCoordinator().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

// ---- coordinator ----------------------------------------------------------------------------

async function runCoordinator() {
  const args = parseArgs();
  need(args, "url", "room", "viewers", "rate", "duration");
  const viewers = args.viewers;
  const rate = args.rate;
  const senders = Math.min(viewers, args.senders || Math.ceil(rate / 1.5));
  const procs = args.procs || Math.max(1, Math.min(4, Math.ceil((viewers * rate) / 40_000)));
  const durationMs = args.duration * 1000;
  const drainMs = (args.drain ?? 5) * 1000;
  const tokens = loadTokens(args.tokens);
  if (tokens && tokens.length < senders) throw new Error(`need ${senders} distinct accounts for senders, have ${tokens.length}`);
  const runId = Math.random().toString(36).slice(2, 10);

  // Viewer i -> worker i % procs; the first `senders` viewers send.
  const plans = Array.from({ length: procs }, () => ({ viewers: [] }));
  for (let i = 0; i < viewers; i++) {
    plans[i % procs].viewers.push({ index: i, token: tokens ? tokens[i % tokens.length] : null, sender: i < senders ? i : -1 });
  }

  const workers = plans.map((plan) => {
    const child = fork(SELF, ["--worker"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    child.send({
      cmd: "init",
      url: args.url,
      namespace: args.namespace || "/chat",
      room: args.room,
      runId,
      viewers: plan.viewers,
      connectConcurrency: Math.max(10, Math.floor((args["connect-concurrency"] || 200) / procs)),
    });
    return child;
  });
  const inbox = workers.map(() => ({}));
  workers.forEach((child, i) => child.on("message", (msg) => (inbox[i][msg.type] = msg)));
  const waitAll = async (type, timeoutMs) => {
    const deadline = nowMs() + timeoutMs;
    while (inbox.some((box) => !box[type])) {
      if (nowMs() > deadline) throw new Error(`workers did not report ${type} in ${timeoutMs} ms`);
      await sleep(50);
    }
    return inbox.map((box) => box[type]);
  };

  const connectStarted = nowMs();
  const ready = await waitAll("ready", 180_000);
  const connectSeconds = (nowMs() - connectStarted) / 1000;
  const connectHist = new Histogram();
  const connectErrors = {};
  let connected = 0;
  let failed = 0;
  let joined = 0;
  let sendersJoined = 0;
  for (const r of ready) {
    connected += r.connected;
    failed += r.failed;
    joined += r.joined;
    sendersJoined += r.sendersJoined;
    connectHist.merge(Histogram.fromJSON(r.connectHist));
    for (const [k, v] of Object.entries(r.errors)) connectErrors[k] = (connectErrors[k] || 0) + v;
  }

  const t0 = nowMs() + 500;
  const sampler = new ServerSampler(args["server-pid"]);
  await sleep(Math.max(0, t0 - nowMs()));
  sampler.start();
  const cpuSince = process.cpuUsage();
  workers.forEach((child) => child.send({ cmd: "start", t0, rate, senders, durationMs, warmupMs: (args.warmup ?? 1) * 1000 }));

  // Send for the duration, then drain until everything expected arrived or the drain bound.
  await sleep(durationMs);
  const drainDeadline = nowMs() + drainMs;
  let progress;
  for (;;) {
    inbox.forEach((box) => delete box.progress);
    workers.forEach((child) => child.send({ cmd: "progress" }));
    progress = await waitAll("progress", 10_000);
    const attempted = progress.reduce((a, p) => a + p.attempted, 0);
    const received = progress.reduce((a, p) => a + p.received, 0);
    const sendingDone = progress.every((p) => p.sendingDone);
    if ((sendingDone && received >= attempted * joined) || nowMs() > drainDeadline) break;
    await sleep(200);
  }
  const server = sampler.stop();
  const wallMs = nowMs() - t0;
  workers.forEach((child) => child.send({ cmd: "finish" }));
  const results = await waitAll("result", 60_000);

  const latency = new Histogram();
  const sendOutcomes = {};
  let attempted = 0;
  let received = 0;
  let lastReceivedAt = t0;
  let disconnects = 0;
  let genCpu = selfCpuPct(cpuSince, wallMs);
  for (const r of results) {
    latency.merge(Histogram.fromJSON(r.latency));
    attempted += r.attempted;
    received += r.received;
    disconnects += r.disconnects;
    lastReceivedAt = Math.max(lastReceivedAt, r.lastReceivedAt || 0);
    genCpu += r.cpuPct;
    for (const [k, v] of Object.entries(r.sendOutcomes)) sendOutcomes[k] = (sendOutcomes[k] || 0) + v;
  }
  const expected = attempted * joined;
  const activeSeconds = (lastReceivedAt - t0) / 1000;
  emitResult({
    scenario: "fanout",
    label: args.label || null,
    url: args.url,
    viewers,
    senders,
    rate_msgs_per_s: rate,
    duration_s: args.duration,
    warmup_s: args.warmup ?? 1,
    generator_procs: procs,
    connections_made: connected,
    connections_failed: failed,
    connect_errors: connectErrors,
    connect_seconds: Math.round(connectSeconds * 10) / 10,
    connect_ms: connectHist.summary(),
    viewers_joined: joined,
    senders_joined: sendersJoined,
    messages_attempted: attempted,
    send_outcomes: sendOutcomes,
    deliveries_expected: expected,
    deliveries_received: received,
    delivery_ratio: expected ? Math.round((received / expected) * 100000) / 100000 : null,
    deliveries_per_s: activeSeconds > 0 ? Math.round(received / activeSeconds) : 0,
    disconnects_during_run: disconnects,
    latency_ms: latency.summary(),
    generator_cpu_pct: Math.round(genCpu * 10) / 10,
    ...server,
    at: new Date().toISOString(),
  });
  await Promise.all(workers.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once("exit", resolve)))));
  process.exit(0);
}

// ---- worker ---------------------------------------------------------------------------------

function runWorker() {
  const latency = new Histogram();
  const connectHist = new Histogram();
  const errors = {};
  const sendOutcomes = {};
  const sockets = [];
  const senderSockets = [];
  let config;
  let received = 0;
  let attempted = 0;
  let lastReceivedAt = 0;
  let disconnects = 0;
  let running = false;
  let sendingDone = false;
  let cpuSince;
  let startedAt;

  process.on("message", async (msg) => {
    if (msg.cmd === "init") {
      config = msg;
      await connectAll();
    } else if (msg.cmd === "start") {
      running = true;
      cpuSince = process.cpuUsage();
      startedAt = nowMs();
      sendLoop(msg.t0, msg.rate, msg.senders, msg.durationMs, msg.warmupMs);
    } else if (msg.cmd === "progress") {
      process.send({ type: "progress", attempted, received, sendingDone });
    } else if (msg.cmd === "finish") {
      running = false;
      process.send({
        type: "result",
        attempted,
        received,
        lastReceivedAt,
        disconnects,
        sendOutcomes,
        latency: latency.toJSON(),
        cpuPct: selfCpuPct(cpuSince, nowMs() - startedAt),
      });
      for (const s of sockets) s.close();
      setTimeout(() => process.exit(0), 200);
    }
  });

  function onMessage(payload) {
    const text = payload && payload.data && payload.data.message;
    if (typeof text !== "string") return;
    const parts = text.split(" ");
    if ((parts[0] !== "b" && parts[0] !== "w") || parts[1] !== config.runId) return;
    const at = nowMs();
    if (parts[0] === "b") latency.record(at - Number(parts[4]));
    received++;
    lastReceivedAt = at;
  }

  async function connectAll() {
    let connected = 0;
    let failed = 0;
    let joined = 0;
    let sendersJoined = 0;
    await pool(config.viewers, config.connectConcurrency, async (viewer) => {
      const result = await connectSocket(config.url, config.namespace, viewer.token);
      connectHist.record(result.ms);
      if (!result.ok) {
        failed++;
        countBy(errors, result.error || "unknown");
        return;
      }
      connected++;
      const socket = result.socket;
      sockets.push(socket);
      socket.on("chat:message", onMessage);
      socket.on("disconnect", () => {
        if (running) disconnects++;
      });
      const ack = await emitAck(socket, "chat:join-room", { liveId: config.room });
      if (ack && ack.success === false) {
        countBy(errors, `join:${ack.errorCode}`);
        return;
      }
      joined++;
      if (viewer.sender >= 0) {
        sendersJoined++;
        senderSockets.push({ index: viewer.sender, socket });
      }
    });
    process.send({ type: "ready", connected, failed, joined, sendersJoined, errors, connectHist: connectHist.toJSON() });
  }

  // Sender g sends its k-th message at t0 + (g + k*S) / R: the S senders interleave evenly.
  async function sendLoop(t0, rate, senders, durationMs, warmupMs) {
    const interval = 1000 / rate;
    const queue = senderSockets.map((s) => ({ ...s, k: 0, due: t0 + s.index * interval }));
    const end = t0 + durationMs;
    while (queue.length) {
      queue.sort((a, b) => a.due - b.due);
      const next = queue[0];
      if (next.due >= end) break;
      const wait = next.due - nowMs();
      if (wait > 1) await sleep(wait);
      const sentAt = nowMs();
      attempted++;
      // Messages of the first second are delivered and counted but kept out of the latency
      // figures (JIT warm-up of both ends).
      const tag = sentAt < t0 + warmupMs ? "w" : "b";
      const message = `${tag} ${config.runId} ${next.index} ${next.k} ${sentAt.toFixed(3)}`;
      emitAck(next.socket, "chat:send-message", { liveId: config.room, message, clientMessageId: crypto.randomUUID() }).then(
        (ack) => countBy(sendOutcomes, ack && ack.success === false ? ack.errorCode || "error" : "ok"),
      );
      next.k++;
      next.due = t0 + (next.index + next.k * senders) * interval;
    }
    sendingDone = true;
  }
}
