// A client on the official TypeScript SDK 2.x (`@modelcontextprotocol/client`) that can be
// asked things, for e2e/tests/mrtr.rs. It declares sampling, elicitation and roots, calls one
// tool and prints what it observed as one JSON object on stdout; on failure it prints the
// reason on stderr and exits non-zero.
//
//   node mrtr-client.mjs <url> <mode> <tool> <arguments-json>
//
// <mode> is `modern` (pinned to MCP 2026-07-28: the server's questions come as
// `input_required` results, which the SDK answers by repeating the call) or `legacy` (the
// 2025 handshake: they come as server requests on the call's stream).
//
// It answers an elicitation by accepting with `{name: "Ada"}`, a sampling request with
// `sampled: <the prompt>`, and roots/list with one root; `asked` lists the methods it was
// asked, in order.

import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

const [url, mode, tool, toolArgs] = process.argv.slice(2);

async function main() {
    if (!url || !['modern', 'legacy'].includes(mode) || !tool) {
        throw new Error('usage: mrtr-client.mjs <url> modern|legacy <tool> <args>');
    }
    const options = { capabilities: { sampling: {}, elicitation: { form: {} }, roots: {} } };
    if (mode === 'modern') {
        options.versionNegotiation = { mode: { pin: '2026-07-28' } };
    }
    const client = new Client({ name: 'mcp-gateway-e2e-mrtr', version: '1.0.0' }, options);
    const asked = [];
    client.setRequestHandler('elicitation/create', async (request) => {
        asked.push({ method: 'elicitation/create', message: request.params.message });
        return { action: 'accept', content: { name: 'Ada' } };
    });
    client.setRequestHandler('sampling/createMessage', async (request) => {
        const prompt = request.params.messages.map((m) => m.content?.text ?? '').join(' ');
        asked.push({ method: 'sampling/createMessage', prompt });
        return {
            role: 'assistant',
            content: { type: 'text', text: `sampled: ${prompt}` },
            model: 'e2e-model',
        };
    });
    client.setRequestHandler('roots/list', async () => {
        asked.push({ method: 'roots/list' });
        return { roots: [{ uri: 'file:///e2e-root', name: 'e2e' }] };
    });
    const transport = new StreamableHTTPClientTransport(new URL(url));
    await client.connect(transport);
    const called = await client.callTool({ name: tool, arguments: JSON.parse(toolArgs ?? '{}') });
    const out = {
        protocolVersion: client.getNegotiatedProtocolVersion() ?? null,
        sessionId: transport.sessionId ?? null,
        content: called.content,
        isError: called.isError ?? false,
        asked,
    };
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
