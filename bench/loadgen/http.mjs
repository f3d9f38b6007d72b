// A small keep-alive JSON client over node:http (no pool limit: a flash sale opens thousands of
// requests at once, and the client must not queue them itself).
import http from "node:http";
import { nowMs } from "./common.mjs";

export const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 65536, keepAliveMsecs: 1000 });

/** Resolves {status, body, ms, error?}; never rejects. */
export function request(url, { method = "GET", token, body, timeoutMs = 60_000 } = {}) {
  const started = nowMs();
  return new Promise((resolve) => {
    const payload = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const headers = { accept: "application/json" };
    if (payload) {
      headers["content-type"] = "application/json";
      headers["content-length"] = payload.length;
    }
    if (token) headers.authorization = `Bearer ${token}`;
    const req = http.request(url, { method, headers, agent, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        let parsed = null;
        const text = Buffer.concat(chunks).toString("utf8");
        try {
          parsed = text ? JSON.parse(text) : null;
        } catch {
          parsed = { raw: text.slice(0, 200) };
        }
        resolve({ status: res.statusCode, body: parsed, ms: nowMs() - started, at: nowMs() });
      });
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (err) => resolve({ status: 0, body: null, ms: nowMs() - started, at: nowMs(), error: err.code || err.message }));
    if (payload) req.write(payload);
    req.end();
  });
}

export async function mustOk(promise, what) {
  const res = await promise;
  if (res.status < 200 || res.status >= 300) {
    throw new Error(`${what}: HTTP ${res.status} ${res.error || ""} ${JSON.stringify(res.body).slice(0, 300)}`);
  }
  return res.body;
}
