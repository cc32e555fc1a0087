// A backend that speaks only MCP 2026-07-28, on the official TypeScript SDK 2.x server
// (@modelcontextprotocol/server, pinned in package.json): `createMcpHandler` with
// `legacy: 'reject'`, so there is no initialize, no session and no 2025 serving at all; a
// 2025 request is answered with the unsupported-version error. e2e/tests/old_clients.rs puts
// 2025 clients (rmcp) in front of it through the gateway.
//
//   node modern-server.mjs NAME
//
// Listens on a free loopback port and prints `listening on http://127.0.0.1:<port>/mcp` once it
// accepts connections.
//
// The `raw` tool answers with the bytes of its own request as they arrived (body and the
// headers the 2026-07-28 revision defines): the test reads from it what the gateway sent, which
// the SDK's parsed view cannot show (key order, integers beyond 2^53). Requests are served one
// at a time per test, so "the request being served" is the last one read.

import http from 'node:http';
import { Readable } from 'node:stream';
import { McpServer, createMcpHandler, fromJsonSchema, inputRequired } from '@modelcontextprotocol/server';
import { z } from 'zod';

const name = process.argv[2] ?? 'modern';
const noArgs = fromJsonSchema({ type: 'object', properties: {} });
/** The last POST: its body as text and its headers. */
let last = { body: '', headers: {} };
/** The `requestState` a retried request carried (`ctx.mcpReq.requestState` is an accessor). */
const stateOf = (ctx) => {
    const state = ctx.mcpReq.requestState;
    return (typeof state === 'function' ? state.call(ctx.mcpReq) : state) ?? 'none';
};

function server() {
    const mcp = new McpServer(
        { name: `modern-${name}`, version: '1.0.0' },
        { capabilities: { logging: {}, completions: {} } },
    );
    mcp.registerTool(
        'add',
        {
            description: 'Adds two numbers',
            inputSchema: z.object({ a: z.number(), b: z.number() }),
        },
        async ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }] }),
    );
    mcp.registerTool(
        'raw',
        { description: 'Returns its own request as received', inputSchema: fromJsonSchema({ type: 'object' }) },
        async () => ({ content: [{ type: 'text', text: JSON.stringify(last) }] }),
    );
    mcp.registerTool(
        'fail',
        { description: 'Always a tool error', inputSchema: noArgs },
        async () => ({ isError: true, content: [{ type: 'text', text: `${name} failed on purpose` }] }),
    );
    mcp.registerTool(
        'ask_name',
        { description: 'Asks the client for a name (elicitation), then greets it', inputSchema: noArgs },
        async (_args, ctx) => {
            const answer = ctx.mcpReq.inputResponses?.name;
            if (answer === undefined) {
                return inputRequired({
                    inputRequests: {
                        name: inputRequired.elicit({
                            message: 'What is your name?',
                            requestedSchema: { type: 'object', properties: { name: { type: 'string' } } },
                        }),
                    },
                    requestState: 'asked-name',
                });
            }
            const state = stateOf(ctx);
            const who = answer?.action === 'accept' ? answer?.content?.name : `(${answer?.action})`;
            return { content: [{ type: 'text', text: `Hello, ${who}. state=${state}` }] };
        },
    );
    mcp.registerTool(
        'ask_all',
        {
            description: 'Asks for a sample and the roots in one round, then a name in a second round',
            inputSchema: noArgs,
        },
        async (_args, ctx) => {
            // Each repeat carries only the answers to the last round; the rest is in the state.
            const responses = ctx.mcpReq.inputResponses ?? {};
            const state = stateOf(ctx);
            if (state.startsWith('round-2:') && responses.name !== undefined) {
                return { content: [{ type: 'text', text: `${state}:${responses.name?.content?.name}` }] };
            }
            if (responses.sample === undefined || responses.roots === undefined) {
                return inputRequired({
                    inputRequests: {
                        sample: inputRequired.createMessage({
                            messages: [{ role: 'user', content: { type: 'text', text: 'Say hello.' } }],
                            maxTokens: 10,
                        }),
                        roots: inputRequired.listRoots(),
                    },
                    requestState: 'round-1',
                });
            }
            return inputRequired({
                inputRequests: {
                    name: inputRequired.elicit({
                        message: 'And your name?',
                        requestedSchema: { type: 'object', properties: { name: { type: 'string' } } },
                    }),
                },
                requestState: `round-2:${responses.sample?.content?.text}:${responses.roots?.roots?.length}`,
            });
        },
    );
    mcp.registerPrompt(
        'greet',
        { description: 'Greets someone', argsSchema: z.object({ who: z.string() }) },
        async ({ who }) => ({ messages: [{ role: 'user', content: { type: 'text', text: `Greet ${who}.` } }] }),
    );
    mcp.registerResource(
        'note',
        'modern://note',
        { description: 'A note', mimeType: 'text/plain' },
        async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: `a note from ${name}` }] }),
    );
    return mcp;
}

const handler = createMcpHandler(() => server(), {
    legacy: 'reject',
    onerror: (error) => console.error(`${name}: ${error?.message ?? error}`),
});

const httpServer = http.createServer(async (req, res) => {
    try {
        const chunks = [];
        for await (const chunk of req) chunks.push(chunk);
        const headers = new Headers();
        for (const [key, value] of Object.entries(req.headers)) {
            for (const one of [value].flat()) headers.append(key, one);
        }
        const body = Buffer.concat(chunks);
        if (req.method === 'POST') {
            const seen = {};
            for (const key of ['mcp-method', 'mcp-name', 'mcp-protocol-version', 'mcp-session-id']) {
                if (req.headers[key] !== undefined) seen[key] = req.headers[key];
            }
            last = { body: body.toString('utf8'), headers: seen };
            console.error(`${name}: ${req.headers['mcp-method'] ?? '(no Mcp-Method)'} ${last.body.slice(0, 400)}`);
        }
        const controller = new AbortController();
        res.on('close', () => controller.abort());
        const response = await handler.fetch(
            new Request(`http://${req.headers.host}${req.url}`, {
                method: req.method,
                headers,
                body: ['GET', 'HEAD'].includes(req.method) ? undefined : body,
                signal: controller.signal,
            }),
        );
        res.writeHead(response.status, Object.fromEntries(response.headers));
        if (response.body) Readable.fromWeb(response.body).pipe(res);
        else res.end();
    } catch (error) {
        console.error(`${name}: ${error?.stack ?? error}`);
        if (!res.headersSent) res.writeHead(500);
        res.end();
    }
});
httpServer.listen(0, '127.0.0.1', () => {
    process.stdout.write(`listening on http://127.0.0.1:${httpServer.address().port}/mcp\n`);
});
