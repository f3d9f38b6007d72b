// Prepares the service for a benchmark: an admin, a live stream, and N buyer accounts logged in
// beforehand through /auth/dev-login (ENABLE_DEV_AUTH=true, loopback), each with a complete
// profile so that it may order. Writes {admin, stream, accounts:[{email, userId, token}]} to --out.
//
//   node loadgen/setup.mjs --url http://127.0.0.1:3001 --accounts 2000 --out /tmp/accounts.json \
//        [--admin bench-admin@bench.test] [--prefix bench]
//   node loadgen/setup.mjs --url ... --product --stream-id ID --stock 100 --in accounts.json
//        (creates one product on the stream and prints it as JSON)
//   node loadgen/setup.mjs --url ... --profiles-only --in accounts.json   (profiles of seeded accounts)
import { readFileSync, writeFileSync } from "node:fs";
import { emitResult, need, nowMs, parseArgs, pool } from "./common.mjs";
import { mustOk, request } from "./http.mjs";

const args = parseArgs();
need(args, "url");
const api = (path) => `${args.url}/api/v1${path}`;

async function login(email, name) {
  const body = await mustOk(request(api("/auth/dev-login"), { method: "POST", body: { email, name } }), `dev-login ${email}`);
  const data = body.data;
  return { email, userId: (data.user && data.user.id) || null, token: data.accessToken };
}

async function completeProfile(account, i) {
  await mustOk(
    request(api("/users/me"), { method: "PATCH", token: account.token, body: { depositorName: `Buyer ${i}` } }),
    `profile ${account.email}`,
  );
  await mustOk(
    request(api("/users/me/shipping-address"), {
      method: "PUT",
      token: account.token,
      body: { fullName: `Buyer ${i}`, address1: `${i} Main St`, city: "Austin", state: "TX", zip: "73301" },
    }),
    `address ${account.email}`,
  );
}

async function createProduct() {
  need(args, "in", "stream-id");
  const setup = JSON.parse(readFileSync(args.in, "utf8"));
  const body = await mustOk(
    request(api("/products"), {
      method: "POST",
      token: setup.admin.token,
      body: { streamId: args["stream-id"], name: args.name || `Flash ${Date.now()}`, price: "10.00", stock: args.stock ?? 100 },
    }),
    "create product",
  );
  emitResult(body.data);
}

async function createAccounts() {
  need(args, "accounts", "out");
  const started = nowMs();
  const prefix = args.prefix || "bench";
  const admin = await login(args.admin || "bench-admin@bench.test", "Bench Admin");
  const stream = (
    await mustOk(
      request(api("/streaming/streams"), { method: "POST", token: admin.token, body: { title: "Benchmark live" } }),
      "create stream",
    )
  ).data;
  await mustOk(request(api(`/streaming/streams/${stream.id}/start`), { method: "POST", token: admin.token }), "start stream");
  const accounts = new Array(args.accounts);
  await pool([...Array(args.accounts).keys()], args.concurrency || 32, async (i) => {
    const account = await login(`${prefix}-${i}@bench.test`, `Viewer ${i}`);
    if (!args["no-profile"]) await completeProfile(account, i);
    accounts[i] = account;
  });
  writeFileSync(args.out, JSON.stringify({ admin, stream: { id: stream.id, streamKey: stream.streamKey }, accounts }));
  emitResult({ setup: "accounts", accounts: accounts.length, stream: stream.streamKey, seconds: Math.round(nowMs() - started) / 1000 });
}

/** Complete the profiles of accounts created elsewhere (bench/seed.py) through the users routes. */
async function completeProfiles() {
  need(args, "in");
  const setup = JSON.parse(readFileSync(args.in, "utf8"));
  const started = nowMs();
  await pool(setup.accounts, args.concurrency || 32, (account, i) => completeProfile(account, i));
  emitResult({ setup: "profiles", accounts: setup.accounts.length, seconds: Math.round(nowMs() - started) / 1000 });
}

(args.product ? createProduct() : args["profiles-only"] ? completeProfiles() : createAccounts()).catch((err) => {
  console.error(err.message || err);
  process.exit(1);
});
