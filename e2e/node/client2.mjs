// A scripted client on the official TypeScript SDK 2.x (`@modelcontextprotocol/client`), for
// e2e/tests/protocol_2026.rs. It runs one scenario against an MCP endpoint and prints what it
// observed as one JSON object on stdout; on failure it prints the reason on stderr and exits
// non-zero.
//
//   node client2.mjs <url> <mode> <tool> <arguments-json> <prompt> <prompt-arguments-json>
//
// <mode> is `modern` (the client pinned to MCP 2026-07-28: `server/discover`, then stateless
// requests) or `legacy` (the SDK's default: the 2025 `initialize` handshake).
//
// It reports the negotiated version, the server's capabilities, tools/list, prompts/list,
// resources/list, a call of <tool>, a get of <prompt>, a read of the first listed resource,
// and the error of a call to a tool nobody offers.

import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

const [url, mode, tool, toolArgs, prompt, promptArgs] = process.argv.slice(2);

/** The tool a call of which must fail: no server of the gateway is called `nosuch`. */
const UNKNOWN_TOOL = 'nosuch_tool';

async function main() {
    if (!url || !['modern', 'legacy'].includes(mode)) {
        throw new Error('usage: client2.mjs <url> modern|legacy <tool> <args> <prompt> <args>');
    }
    const options = { capabilities: {} };
    if (mode === 'modern') {
        options.versionNegotiation = { mode: { pin: '2026-07-28' } };
    }
    const client = new Client({ name: 'mcp-gateway-e2e-ts2', version: '1.0.0' }, options);
    const transport = new StreamableHTTPClientTransport(new URL(url));
    await client.connect(transport);
    const out = {
        protocolVersion: client.getNegotiatedProtocolVersion() ?? null,
        era: client.getProtocolEra() ?? null,
        sessionId: transport.sessionId ?? null,
        capabilities: client.getServerCapabilities() ?? null,
        serverVersion: client.getServerVersion() ?? null,
    };
    out.tools = (await client.listTools()).tools.map((t) => t.name);
    out.prompts = (await client.listPrompts()).prompts.map((p) => p.name);
    const resources = (await client.listResources()).resources;
    out.resources = resources.map((r) => r.uri);
    const called = await client.callTool({ name: tool, arguments: JSON.parse(toolArgs) });
    out.call = { content: called.content, isError: called.isError ?? false };
    const got = await client.getPrompt({ name: prompt, arguments: JSON.parse(promptArgs) });
    out.prompt = got.messages.map((m) => m.content?.text ?? null);
    if (resources.length > 0) {
        const read = await client.readResource({ uri: resources[0].uri });
        out.read = read.contents.map((c) => ({ uri: c.uri, text: c.text ?? null }));
    }
    try {
        const unknown = await client.callTool({ name: UNKNOWN_TOOL, arguments: {} });
        out.unknownTool = { result: unknown };
    } catch (error) {
        out.unknownTool = { code: error.code ?? null, message: String(error.message) };
    }
    await client.close();
    process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((error) => {
    process.stderr.write(`${error?.stack ?? error}\n`);
    if (error?.data !== undefined) {
        process.stderr.write(`data: ${JSON.stringify(error.data)}\n`);
    }
    process.exit(1);
});
