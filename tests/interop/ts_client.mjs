// The MCP TypeScript SDK's client (node_modules/@modelcontextprotocol/sdk, pinned in
// package-lock.json) on devplane's gateway, driven by tests/interop/test_ts_client.py.
//
// Input (stdin): {"url": ..., "token": ..., "calls": [{"name": ..., "arguments": {...}, "progress": bool}]}
// Output (stdout): one JSON object: the negotiated server info and capabilities, the tool names,
// and per call its result and the progress notifications it received (or the error's code and message).
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const plan = JSON.parse(Buffer.concat(chunks).toString("utf8"));

const transport = new StreamableHTTPClientTransport(new URL(plan.url), {
  requestInit: { headers: { Authorization: `Bearer ${plan.token}` } },
});
const client = new Client({ name: "devplane-interop-ts", version: "1.0.0" });
await client.connect(transport);

const out = {
  serverInfo: client.getServerVersion(),
  capabilities: client.getServerCapabilities(),
  protocolVersion: transport.protocolVersion ?? null,
  tools: [],
  calls: [],
};
let cursor;
for (let page = 0; page < 100; page++) {
  const listed = await client.listTools(cursor ? { cursor } : {});
  out.tools.push(...listed.tools.map((tool) => tool.name));
  cursor = listed.nextCursor;
  if (!cursor) break;
}
for (const call of plan.calls) {
  const progress = [];
  const options = call.progress ? { onprogress: (note) => progress.push(note) } : undefined;
  try {
    const result = await client.callTool({ name: call.name, arguments: call.arguments ?? {} }, undefined, options);
    out.calls.push({ result, progress });
  } catch (error) {
    out.calls.push({ error: { code: error.code ?? null, message: String(error.message ?? error) }, progress });
  }
}
await client.close();
process.stdout.write(JSON.stringify(out));
