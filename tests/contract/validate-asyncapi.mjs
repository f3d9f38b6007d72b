// Validates an AsyncAPI document with the official parser: node validate-asyncapi.mjs FILE.
// Prints the diagnostics; exits 1 when any is an error (severity 0), else 0.
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const text = readFileSync(process.argv[2], "utf8");
const { document, diagnostics } = await new Parser().parse(text);
const errors = diagnostics.filter((d) => d.severity === 0);
for (const d of diagnostics) console.log(`${d.severity === 0 ? "error" : "warning"} ${d.code} ${d.path.join(".")}: ${d.message}`);
if (errors.length || !document) process.exit(1);
console.log(`valid: ${document.operations().length} operations, ${document.channels().length} channels`);
