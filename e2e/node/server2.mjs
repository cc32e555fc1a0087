// A backend on the official TypeScript SDK 2.x server (@modelcontextprotocol/server), for
// e2e/tests/protocol_2026.rs: it speaks MCP 2026-07-28 (stateless requests, server/discover)
// and, unless --modern-only, the 2025 `initialize` handshake through the SDK's stateless
// legacy fallback.
//
//   node server2.mjs <name> [--modern-only]
//
// Listens on a free loopback port and prints `listening on http://127.0.0.1:<port>/mcp`.
// Tools:
//   echo {text}   returns the text
//   era           returns JSON: the era the request arrived in (`modern` or `legacy`) and
//                 the request's _meta as the SDK hands it to the tool
//   log           logs at debug, info and warning, then returns `logged`
//   sample        asks the client to sample (an input_required result; the SDK answers
//                 -32021 itself when the request did not declare sampling)
//   announce      announces a tool list change (notifications/tools/list_changed on
//                 subscriptions/listen streams)
// A prompt `greet {name}` and a resource `note://<name>/hello`.

import http from 'node:http';
import { Readable } from 'node:stream';
import {
    McpServer,
    createMcpHandler,
    fromJsonSchema,
    inputRequired,
} from '@modelcontextprotocol/server';
import { z } from 'zod';

const [name, ...flags] = process.argv.slice(2);
if (!name || flags.some((f) => f !== '--modern-only')) {
    throw new Error('usage: server2.mjs <name> [--modern-only]');
}
const modernOnly = flags.includes('--modern-only');
const noArgs = fromJsonSchema({ type: 'object', properties: {} });

function build({ era }) {
    const server = new McpServer(
        { name: `e2e-sdk2-${name}`, version: '1.0.0' },
        { capabilities: { logging: {} } },
    );
    server.registerTool(
        'echo',
        { description: 'Returns the text', inputSchema: z.object({ text: z.string() }) },
        async ({ text }) => ({ content: [{ type: 'text', text }] }),
    );
    server.registerTool('era', { description: 'How the request arrived', inputSchema: noArgs }, async (_args, ctx) => {
        const seen = { era, meta: ctx.mcpReq._meta ?? null };
        return { content: [{ type: 'text', text: JSON.stringify(seen) }] };
    });
    server.registerTool('log', { description: 'Logs three messages', inputSchema: noArgs }, async (_args, ctx) => {
        for (const level of ['debug', 'info', 'warning']) {
            await ctx.mcpReq.log(level, `${name} ${level}`);
        }
        return { content: [{ type: 'text', text: 'logged' }] };
    });
    server.registerTool('sample', { description: 'Asks the client to sample', inputSchema: noArgs }, async (_args, ctx) => {
        const sampled = ctx.mcpReq.inputResponses?.sample;
        if (sampled === undefined) {
            return inputRequired({
                inputRequests: {
                    sample: inputRequired.createMessage({
                        messages: [{ role: 'user', content: { type: 'text', text: 'Say hello.' } }],
                        maxTokens: 10,
                    }),
                },
            });
        }
        return { content: [{ type: 'text', text: `sampled: ${JSON.stringify(sampled)}` }] };
    });
    server.registerTool(
        'announce',
        { description: 'Announces a tool list change on subscriptions/listen streams', inputSchema: noArgs },
        async () => {
            handler.notify.toolsChanged();
            return { content: [{ type: 'text', text: 'announced' }] };
        },
    );
    server.registerPrompt(
        'greet',
        { description: 'Greets someone', argsSchema: z.object({ name: z.string() }) },
        async (args) => ({
            messages: [{ role: 'user', content: { type: 'text', text: `Hello, ${args.name}, from ${name}` } }],
        }),
    );
    server.registerResource(
        'hello',
        `note://${name}/hello`,
        { mimeType: 'text/plain' },
        async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: `hello from ${name}` }] }),
    );
    return server;
}

const handler = createMcpHandler((ctx) => build(ctx ?? {}), {
    ...(modernOnly && { legacy: 'reject' }),
    onerror: (error) => console.error(`${name}: ${error?.message ?? error}`),
});

const server = http.createServer(async (req, res) => {
    try {
        if (new URL(req.url, 'http://backend').pathname !== '/mcp') {
            res.writeHead(404).end();
            return;
        }
        const chunks = [];
        for await (const chunk of req) chunks.push(chunk);
        const headers = new Headers();
        for (const [key, value] of Object.entries(req.headers)) {
            for (const one of [value].flat()) headers.append(key, one);
        }
        const controller = new AbortController();
        res.on('close', () => controller.abort());
        const response = await handler.fetch(
            new Request(`http://${req.headers.host}${req.url}`, {
                method: req.method,
                headers,
                body: ['GET', 'HEAD'].includes(req.method) ? undefined : Buffer.concat(chunks),
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
server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`listening on http://127.0.0.1:${server.address().port}/mcp\n`);
});
