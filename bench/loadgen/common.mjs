// Shared pieces of the load generator: arguments, a mergeable latency histogram, a clock that
// agrees across processes, a /proc sampler for the server's process tree, and socket helpers.
import { readFileSync, readdirSync } from "node:fs";
import { io } from "socket.io-client";

/** Wall-clock milliseconds with sub-millisecond resolution, comparable between processes. */
export function nowMs() {
  return performance.timeOrigin + performance.now();
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** --key value / --flag arguments into an object (numbers converted). */
export function parseArgs(argv = process.argv.slice(2)) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) continue;
    const key = arg.slice(2);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith("--")) {
      out[key] = true;
    } else {
      out[key] = /^-?\d+(\.\d+)?$/.test(next) ? Number(next) : next;
      i++;
    }
  }
  return out;
}

export function need(args, ...keys) {
  for (const key of keys) {
    if (args[key] === undefined) throw new Error(`missing --${key}`);
  }
}

/**
 * Latency histogram: 0.05 ms buckets up to 100 ms, 1 ms buckets up to 60 s, then one overflow
 * bucket. Plain arrays, so a worker can post it to the coordinator and counts simply add up.
 */
const FINE_MS = 100;
const FINE_STEP = 0.05;
const COARSE_MS = 60_000;
const FINE_BUCKETS = FINE_MS / FINE_STEP;
const BUCKETS = FINE_BUCKETS + (COARSE_MS - FINE_MS) + 1;

export class Histogram {
  constructor(counts) {
    this.counts = counts ? Uint32Array.from(counts) : new Uint32Array(BUCKETS);
    this.max = 0;
    this.n = 0;
  }

  record(ms) {
    if (ms < 0) ms = 0;
    if (ms > this.max) this.max = ms;
    this.n++;
    let index;
    if (ms < FINE_MS) index = Math.floor(ms / FINE_STEP);
    else if (ms < COARSE_MS) index = FINE_BUCKETS + Math.floor(ms - FINE_MS);
    else index = BUCKETS - 1;
    this.counts[index]++;
  }

  merge(other) {
    const counts = other.counts;
    for (let i = 0; i < counts.length; i++) this.counts[i] += counts[i];
    this.max = Math.max(this.max, other.max);
    this.n += other.n;
    return this;
  }

  toJSON() {
    // Sparse form: a full histogram is 60k numbers.
    const sparse = [];
    for (let i = 0; i < this.counts.length; i++) if (this.counts[i]) sparse.push([i, this.counts[i]]);
    return { sparse, max: this.max, n: this.n };
  }

  static fromJSON(obj) {
    const h = new Histogram();
    for (const [i, c] of obj.sparse) h.counts[i] = c;
    h.max = obj.max;
    h.n = obj.n;
    return h;
  }

  /** Upper edge of the bucket holding the q-quantile (0..1), in ms; null when empty. */
  quantile(q) {
    if (this.n === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.n));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= rank) {
        const upper = i < FINE_BUCKETS ? (i + 1) * FINE_STEP : FINE_MS + (i - FINE_BUCKETS) + 1;
        return Math.min(upper, this.max);
      }
    }
    return this.max;
  }

  summary() {
    const r = (x) => (x === null ? null : Math.round(x * 100) / 100);
    return {
      p50_ms: r(this.quantile(0.5)),
      p95_ms: r(this.quantile(0.95)),
      p99_ms: r(this.quantile(0.99)),
      max_ms: r(this.n ? this.max : null),
    };
  }
}

// ---- server resource sampler --------------------------------------------------------------

const CLK_TCK = 100; // USER_HZ on Linux
const PAGE_KB = 4;

function readStat(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state): ppid = field 4, utime = 14, stime = 15, rss pages = 24
  return { ppid: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]), rssPages: Number(fields[21]) };
}

/** The pid and all its descendants (gunicorn master + workers, or one node process). */
export function processTree(rootPid) {
  const children = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const { ppid } = readStat(name);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(name));
    } catch {
      // the process ended while we looked
    }
  }
  const tree = [];
  const stack = [Number(rootPid)];
  while (stack.length) {
    const pid = stack.pop();
    tree.push(pid);
    for (const child of children.get(pid) || []) stack.push(child);
  }
  return tree;
}

export function treeUsage(rootPid) {
  let cpuTicks = 0;
  let rssKb = 0;
  const pids = processTree(rootPid);
  for (const pid of pids) {
    try {
      const s = readStat(pid);
      cpuTicks += s.cpuTicks;
      rssKb += s.rssPages * PAGE_KB;
    } catch {
      // gone
    }
  }
  return { cpuTicks, rssKb, processes: pids.length, at: nowMs() };
}

/**
 * Samples the server tree every `everyMs` between start() and stop(): mean CPU (percent of one
 * core; 200 = two cores busy) and RSS at start, end and peak (MB, whole tree).
 */
export class ServerSampler {
  constructor(pid, everyMs = 500) {
    this.pid = pid;
    this.everyMs = everyMs;
    this.samples = [];
  }

  start() {
    if (!this.pid) return this;
    this.first = treeUsage(this.pid);
    this.samples = [this.first];
    this.timer = setInterval(() => this.samples.push(treeUsage(this.pid)), this.everyMs);
    return this;
  }

  stop() {
    if (!this.pid) return { server_pid: null };
    clearInterval(this.timer);
    const last = treeUsage(this.pid);
    this.samples.push(last);
    const seconds = (last.at - this.first.at) / 1000;
    const mb = (kb) => Math.round(kb / 102.4) / 10;
    return {
      server_pid: Number(this.pid),
      server_processes: last.processes,
      server_cpu_pct: seconds > 0 ? Math.round(((last.cpuTicks - this.first.cpuTicks) / CLK_TCK / seconds) * 1000) / 10 : null,
      server_rss_mb_start: mb(this.first.rssKb),
      server_rss_mb_end: mb(last.rssKb),
      server_rss_mb_peak: mb(Math.max(...this.samples.map((s) => s.rssKb))),
    };
  }
}

/** CPU used by this process since `since` (process.cpuUsage()) as percent of one core. */
export function selfCpuPct(since, wallMs) {
  const used = process.cpuUsage(since);
  return wallMs > 0 ? Math.round(((used.user + used.system) / 1000 / wallMs) * 1000) / 10 : null;
}

// ---- sockets --------------------------------------------------------------------------------

/**
 * One Socket.IO connection of its own (forceNew: socket.io-client would otherwise multiplex every
 * socket to the same URL over a single WebSocket), WebSocket transport only, no reconnection (a
 * failure must count as a failure).
 */
export function connectSocket(url, namespace, token, timeoutMs = 20_000) {
  const started = nowMs();
  const socket = io(url + namespace, {
    transports: ["websocket"],
    forceNew: true,
    reconnection: false,
    timeout: timeoutMs,
    auth: token ? { token } : {},
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish(false, "timeout"), timeoutMs + 1000);
    function finish(ok, error) {
      clearTimeout(timer);
      socket.off("connect");
      socket.off("connect_error");
      if (!ok) socket.close();
      resolve({ ok, socket, ms: nowMs() - started, error });
    }
    socket.once("connect", () => finish(true));
    socket.once("connect_error", (err) => finish(false, err && err.message ? err.message : String(err)));
  });
}

/** Emit with an acknowledgement; resolves to the ack (or {success:false, errorCode:"ACK_TIMEOUT"}). */
export function emitAck(socket, event, payload, timeoutMs = 15_000) {
  return new Promise((resolve) => {
    socket.timeout(timeoutMs).emit(event, payload, (err, ack) => {
      if (err) resolve({ success: false, errorCode: "ACK_TIMEOUT" });
      else resolve(ack ?? { success: true });
    });
  });
}

/** Run `fn` over items with at most `limit` in flight. */
export async function pool(items, limit, fn) {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  });
  await Promise.all(runners);
}

export function countBy(map, key) {
  map[key] = (map[key] || 0) + 1;
}

export function loadTokens(path) {
  if (!path) return null;
  const data = JSON.parse(readFileSync(path, "utf8"));
  return data.accounts.map((a) => a.token);
}

export function emitResult(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}
