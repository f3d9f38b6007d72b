// Capacity: idle viewers join one stream on /streaming, added in steps, until a step fails (more
// than --stop-fail, default 20 %, of its connections refused or timed out; the first step over 1 %
// is reported too) or the bound is reached; then they stay
// connected (Engine.IO heartbeats running) for --hold seconds. Reports, per step and overall, the
// server's RSS and the connect-time percentiles. One JSON line.
//
//   node loadgen/capacity.mjs --url http://127.0.0.1:3001 --room KEY --max 10000 --step 1000 \
//        [--procs 4] [--tokens accounts.json] [--server-pid PID] [--hold 10]
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import {
  Histogram,
  connectSocket,
  countBy,
  emitAck,
  emitResult,
  loadTokens,
  need,
  nowMs,
  parseArgs,
  pool,
  sleep,
  treeUsage,
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

async function runCoordinator() {
  const args = parseArgs();
  need(args, "url", "room");
  const max = args.max || 10_000;
  const step = args.step || 1000;
  const procs = args.procs || Math.max(1, Math.min(4, Math.ceil(max / 2500)));
  const holdMs = (args.hold ?? 10) * 1000;
  const tokens = loadTokens(args.tokens);
  const pid = args["server-pid"];
  const mb = (kb) => Math.round(kb / 102.4) / 10;

  const workers = Array.from({ length: procs }, () => fork(SELF, ["--worker"], { stdio: ["ignore", "inherit", "inherit", "ipc"] }));
  const inbox = workers.map(() => []);
  workers.forEach((child, i) => child.on("message", (msg) => inbox[i].push(msg)));
  const collect = async (type, timeoutMs) => {
    const deadline = nowMs() + timeoutMs;
    for (;;) {
      const found = inbox.map((box) => box.findIndex((m) => m.type === type));
      if (found.every((i) => i >= 0)) return found.map((i, w) => inbox[w].splice(i, 1)[0]);
      if (nowMs() > deadline) throw new Error(`workers did not report ${type}`);
      await sleep(50);
    }
  };
  workers.forEach((child) =>
    child.send({ cmd: "init", url: args.url, namespace: args.namespace || "/streaming", room: args.room, concurrency: Math.max(10, Math.floor((args["connect-concurrency"] || 200) / procs)) }),
  );

  const baseline = pid ? treeUsage(pid) : null;
  const steps = [];
  const connectAll = new Histogram();
  const errors = {};
  let connected = 0;
  let failed = 0;
  let next = 0;
  let stopReason = "bound reached";
  let firstFailingStep = null;
  const started = nowMs();
  while (next < max) {
    const size = Math.min(step, max - next);
    const shares = workers.map(() => []);
    for (let i = 0; i < size; i++) {
      const index = next + i;
      shares[index % procs].push(tokens ? tokens[index % tokens.length] : null);
    }
    next += size;
    const stepStarted = nowMs();
    workers.forEach((child, w) => child.send({ cmd: "add", tokens: shares[w] }));
    const reports = await collect("added", 300_000);
    const stepHist = new Histogram();
    let stepOk = 0;
    let stepFailed = 0;
    for (const r of reports) {
      stepOk += r.ok;
      stepFailed += r.failed;
      stepHist.merge(Histogram.fromJSON(r.connectHist));
      for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] || 0) + v;
    }
    connectAll.merge(stepHist);
    connected += stepOk;
    failed += stepFailed;
    await sleep(1000); // let the server settle before reading its memory
    const usage = pid ? treeUsage(pid) : null;
    steps.push({
      connected,
      step_failed: stepFailed,
      step_seconds: Math.round((nowMs() - stepStarted) / 100) / 10,
      connect_p99_ms: stepHist.summary().p99_ms,
      server_rss_mb: usage ? mb(usage.rssKb) : null,
    });
    // A step losing more than 1 % is the first sign of failure (recorded); the ramp stops when a
    // step loses more than --stop-fail (default 20 %): on a shared machine a slow step is not
    // always the server's limit, and the memory figure at scale is worth having.
    if (stepFailed > size * 0.01 && firstFailingStep === null) firstFailingStep = next;
    if (stepFailed > size * (args["stop-fail"] ?? 0.2)) {
      stopReason = `step to ${next} failed: ${stepFailed} of ${size} connections`;
      break;
    }
  }

  // Hold: everyone idle, heartbeats running; count who dropped.
  const holdCpuStart = pid ? treeUsage(pid) : null;
  await sleep(holdMs);
  workers.forEach((child) => child.send({ cmd: "count" }));
  const counts = await collect("count", 30_000);
  const usage = pid ? treeUsage(pid) : null;
  const alive = counts.reduce((a, c) => a + c.alive, 0);
  workers.forEach((child) => child.send({ cmd: "finish" }));

  const rssDelta = usage && baseline ? usage.rssKb - baseline.rssKb : null;
  emitResult({
    scenario: "capacity",
    label: args.label || null,
    url: args.url,
    bound: max,
    step,
    generator_procs: procs,
    stop_reason: stopReason,
    first_step_over_1pct_failed: firstFailingStep,
    connections_made: connected,
    connections_failed: failed,
    connect_errors: errors,
    connect_ms: connectAll.summary(),
    ramp_seconds: Math.round((nowMs() - started - holdMs) / 100) / 10,
    hold_s: holdMs / 1000,
    alive_after_hold: alive,
    server_rss_mb_baseline: baseline ? mb(baseline.rssKb) : null,
    server_rss_mb_end: usage ? mb(usage.rssKb) : null,
    rss_mb_per_1000: rssDelta !== null && connected ? Math.round((rssDelta / 1024 / (connected / 1000)) * 10) / 10 : null,
    server_cpu_pct_idle_hold:
      usage && holdCpuStart ? Math.round(((usage.cpuTicks - holdCpuStart.cpuTicks) / 100 / ((usage.at - holdCpuStart.at) / 1000)) * 1000) / 10 : null,
    server_processes: usage ? usage.processes : null,
    steps,
    at: new Date().toISOString(),
  });
  await Promise.all(workers.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once("exit", resolve)))));
  process.exit(0);
}

function runWorker() {
  const sockets = [];
  let config;
  let dropped = 0;
  process.on("message", async (msg) => {
    if (msg.cmd === "init") {
      config = msg;
    } else if (msg.cmd === "add") {
      const hist = new Histogram();
      const errors = {};
      let ok = 0;
      let failed = 0;
      await pool(msg.tokens, config.concurrency, async (token) => {
        const t = nowMs();
        const result = await connectSocket(config.url, config.namespace, token);
        if (!result.ok) {
          hist.record(result.ms);
          failed++;
          countBy(errors, result.error || "unknown");
          return;
        }
        const ack = await emitAck(result.socket, "stream:viewer:join", { streamKey: config.room });
        // Connect time = from opening the TCP connection until the server acknowledged the join.
        hist.record(nowMs() - t);
        if (ack && ack.success === false) {
          failed++;
          countBy(errors, `join:${ack.errorCode}`);
          result.socket.close();
          return;
        }
        ok++;
        sockets.push(result.socket);
        result.socket.on("disconnect", () => dropped++);
      });
      process.send({ type: "added", ok, failed, errors, connectHist: hist.toJSON() });
    } else if (msg.cmd === "count") {
      process.send({ type: "count", alive: sockets.filter((s) => s.connected).length, dropped });
    } else if (msg.cmd === "finish") {
      for (const s of sockets) s.close();
      setTimeout(() => process.exit(0), 500);
    }
  });
}
