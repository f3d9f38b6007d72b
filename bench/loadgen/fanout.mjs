// Fan-out: N viewers join one chat room on /chat; S of them also send at a total rate R; every
// viewer measures receive time minus the send time written in the message. One JSON line.
//
//   node loadgen/fanout.mjs --url http://127.0.0.1:3001 --room KEY --viewers 1000 --rate 50 \
//        --duration 10 [--rates 50,100] [--senders 40] [--procs 2] [--tokens accounts.json] [--server-pid PID]
//   ... --rate 50 --search [--max-rate 1600] [--max-steps 6]   (saturation: one line per step, "passed")
//
// The viewers connect once; each rate is then one measured step on the same connections.
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

/** A step passes the saturation criterion: >= 99 % delivered, p99 <= 1 s, <= 1 % not connected. */
function passes(row, args) {
  const p99 = row.latency_ms.p99_ms;
  return (
    (row.delivery_ratio ?? 0) >= (args["pass-ratio"] ?? 0.99) &&
    p99 !== null &&
    p99 <= (args["pass-p99"] ?? 1000) &&
    row.connections_failed <= row.viewers * 0.01
  );
}

async function runCoordinator() {
  const args = parseArgs();
  need(args, "url", "room", "viewers", "duration");
  if (args.rate === undefined && args.rates === undefined) throw new Error("missing --rate or --rates");
  const viewers = args.viewers;
  const maxRate = args.search ? args["max-rate"] || 1600 : Math.max(...String(args.rates || args.rate).split(",").map(Number));
  const procs = args.procs || Math.max(1, Math.min(3, Math.ceil((viewers * Math.min(maxRate, 200)) / 40_000)));
  const durationMs = args.duration * 1000;
  const drainMs = (args.drain ?? 5) * 1000;
  const tokens = loadTokens(args.tokens);
  const runId = Math.random().toString(36).slice(2, 10);
  // Each sender sends at most 1.5 msg/s: the service allows 20 per 10 s per user.
  const sendersFor = (rate) => Math.min(viewers, tokens ? tokens.length : viewers, args.senders || Math.ceil(rate / 1.5));

  // Viewer i -> worker i % procs; for a rate R the first sendersFor(R) viewers send.
  const plans = Array.from({ length: procs }, () => ({ viewers: [] }));
  for (let i = 0; i < viewers; i++) {
    plans[i % procs].viewers.push({ index: i, token: tokens ? tokens[i % tokens.length] : null });
  }

  const workers = plans.map((plan) => {
    const child = fork(SELF, ["--worker"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    child.send({
      cmd: "init",
      url: args.url,
      namespace: args.namespace || "/chat",
      room: args.room,
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
    const found = inbox.map((box) => box[type]);
    inbox.forEach((box) => delete box[type]);
    return found;
  };

  const connectStarted = nowMs();
  const ready = await waitAll("ready", 300_000);
  const connect = {
    seconds: Math.round(((nowMs() - connectStarted) / 1000) * 10) / 10,
    hist: new Histogram(),
    errors: {},
    connected: 0,
    failed: 0,
    joined: 0,
  };
  for (const r of ready) {
    connect.connected += r.connected;
    connect.failed += r.failed;
    connect.joined += r.joined;
    connect.hist.merge(Histogram.fromJSON(r.connectHist));
    for (const [k, v] of Object.entries(r.errors)) connect.errors[k] = (connect.errors[k] || 0) + v;
  }

  let stepNo = 0;
  async function measure(rate) {
    const senders = sendersFor(rate);
    const tag = `${runId}.${stepNo}`;
    const t0 = nowMs() + 500;
    const sampler = new ServerSampler(args["server-pid"]);
    await sleep(Math.max(0, t0 - nowMs()));
    sampler.start();
    const cpuSince = process.cpuUsage();
    workers.forEach((child) => child.send({ cmd: "start", tag, t0, rate, senders, durationMs, warmupMs: (args.warmup ?? 1) * 1000 }));

    // Send for the duration, then drain until everything expected arrived or the drain bound.
    await sleep(durationMs);
    const drainDeadline = nowMs() + drainMs;
    for (;;) {
      workers.forEach((child) => child.send({ cmd: "progress" }));
      const progress = await waitAll("progress", 10_000);
      const attempted = progress.reduce((a, p) => a + p.attempted, 0);
      const received = progress.reduce((a, p) => a + p.received, 0);
      const sendingDone = progress.every((p) => p.sendingDone);
      if ((sendingDone && received >= attempted * connect.joined) || nowMs() > drainDeadline) break;
      await sleep(200);
    }
    const server = sampler.stop();
    const wallMs = nowMs() - t0;
    workers.forEach((child) => child.send({ cmd: "collect" }));
    const results = await waitAll("result", 60_000);

    const latency = new Histogram();
    const sendOutcomes = {};
    let attempted = 0;
    let received = 0;
    let lastReceivedAt = t0;
    let disconnects = 0;
    let sendersJoined = 0;
    let genCpu = selfCpuPct(cpuSince, wallMs);
    for (const r of results) {
      latency.merge(Histogram.fromJSON(r.latency));
      attempted += r.attempted;
      received += r.received;
      disconnects += r.disconnects;
      sendersJoined += r.senders;
      lastReceivedAt = Math.max(lastReceivedAt, r.lastReceivedAt || 0);
      genCpu += r.cpuPct;
      for (const [k, v] of Object.entries(r.sendOutcomes)) sendOutcomes[k] = (sendOutcomes[k] || 0) + v;
    }
    const expected = attempted * connect.joined;
    const activeSeconds = (lastReceivedAt - t0) / 1000;
    stepNo++;
    return {
      scenario: "fanout",
      label: args.label || null,
      url: args.url,
      viewers,
      senders,
      rate_msgs_per_s: rate,
      duration_s: args.duration,
      warmup_s: args.warmup ?? 1,
      step: stepNo - 1,
      generator_procs: procs,
      connections_made: connect.connected,
      connections_failed: connect.failed,
      connect_errors: connect.errors,
      connect_seconds: connect.seconds,
      connect_ms: connect.hist.summary(),
      viewers_joined: connect.joined,
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
    };
  }

  if (args.search) {
    // Bounded search: double from --rate while it passes, then bisect between the last pass and
    // the first failure; at most --max-steps measurements.
    let lo = 0;
    let hi = null;
    let rate = args.rate;
    for (let steps = 0; steps < (args["max-steps"] || 6); steps++) {
      const row = await measure(rate);
      row.passed = passes(row, args);
      emitResult(row);
      if (row.passed) lo = rate;
      else hi = rate;
      if (hi === null) {
        if (rate >= maxRate) break;
        rate = Math.min(rate * 2, maxRate);
      } else if (lo === 0) {
        rate = Math.round(hi / 2);
        if (rate < 5) break;
      } else if (hi - lo <= Math.max(5, lo * 0.1)) {
        break;
      } else {
        rate = Math.round((lo + hi) / 2);
      }
      await sleep(2000);
    }
  } else {
    const rates = String(args.rates || args.rate).split(",").map(Number);
    for (const [i, rate] of rates.entries()) {
      if (i) await sleep(2000);
      emitResult(await measure(rate));
    }
  }
  workers.forEach((child) => child.send({ cmd: "finish" }));
  await Promise.all(workers.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once("exit", resolve)))));
  process.exit(0);
}

// ---- worker ---------------------------------------------------------------------------------

function runWorker() {
  const connectHist = new Histogram();
  const errors = {};
  const sockets = [];
  const joinedSockets = [];
  let config;
  let step = null;

  function newStep(msg) {
    return {
      tag: msg.tag,
      latency: new Histogram(),
      sendOutcomes: {},
      received: 0,
      attempted: 0,
      lastReceivedAt: 0,
      disconnects: 0,
      sendingDone: false,
      senders: 0,
      cpuSince: process.cpuUsage(),
      startedAt: nowMs(),
    };
  }

  process.on("message", async (msg) => {
    if (msg.cmd === "init") {
      config = msg;
      await connectAll();
    } else if (msg.cmd === "start") {
      step = newStep(msg);
      sendLoop(step, msg);
    } else if (msg.cmd === "progress") {
      process.send({ type: "progress", attempted: step.attempted, received: step.received, sendingDone: step.sendingDone });
    } else if (msg.cmd === "collect") {
      const done = step;
      step = null;
      process.send({
        type: "result",
        attempted: done.attempted,
        received: done.received,
        senders: done.senders,
        lastReceivedAt: done.lastReceivedAt,
        disconnects: done.disconnects,
        sendOutcomes: done.sendOutcomes,
        latency: done.latency.toJSON(),
        cpuPct: selfCpuPct(done.cpuSince, nowMs() - done.startedAt),
      });
    } else if (msg.cmd === "finish") {
      for (const s of sockets) s.close();
      setTimeout(() => process.exit(0), 200);
    }
  });

  function onMessage(payload) {
    const text = payload && payload.data && payload.data.message;
    if (typeof text !== "string" || step === null) return;
    const parts = text.split(" ");
    if ((parts[0] !== "b" && parts[0] !== "w") || parts[1] !== step.tag) return;
    const at = nowMs();
    if (parts[0] === "b") step.latency.record(at - Number(parts[4]));
    step.received++;
    step.lastReceivedAt = at;
  }

  async function connectAll() {
    let connected = 0;
    let failed = 0;
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
        if (step) step.disconnects++;
      });
      const ack = await emitAck(socket, "chat:join-room", { liveId: config.room });
      if (ack && ack.success === false) {
        countBy(errors, `join:${ack.errorCode}`);
        return;
      }
      joinedSockets.push({ index: viewer.index, socket });
    });
    process.send({ type: "ready", connected, failed, joined: joinedSockets.length, errors, connectHist: connectHist.toJSON() });
  }

  // Sender g sends its k-th message at t0 + (g + k*S) / R: the S senders interleave evenly.
  async function sendLoop(current, { t0, rate, senders, durationMs, warmupMs }) {
    const interval = 1000 / rate;
    const queue = joinedSockets.filter((s) => s.index < senders).map((s) => ({ ...s, k: 0, due: t0 + s.index * interval }));
    current.senders = queue.length;
    const end = t0 + durationMs;
    while (queue.length && step === current) {
      queue.sort((a, b) => a.due - b.due);
      const next = queue[0];
      if (next.due >= end) break;
      const wait = next.due - nowMs();
      if (wait > 1) await sleep(wait);
      const sentAt = nowMs();
      current.attempted++;
      // Messages of the first second are delivered and counted but kept out of the latency
      // figures (JIT warm-up of both ends).
      const kind = sentAt < t0 + warmupMs ? "w" : "b";
      const message = `${kind} ${current.tag} ${next.index} ${next.k} ${sentAt.toFixed(3)}`;
      emitAck(next.socket, "chat:send-message", { liveId: config.room, message, clientMessageId: crypto.randomUUID() }).then(
        (ack) => countBy(current.sendOutcomes, ack && ack.success === false ? ack.errorCode || "error" : "ok"),
      );
      next.k++;
      next.due = t0 + (next.index + next.k * senders) * interval;
    }
    current.sendingDone = true;
  }
}
