// The 2026-07-28 fixture server for `make conformance`: the official TypeScript SDK server
// (@modelcontextprotocol/server, pinned in package.json) serving the conformance suite's
// fixture contract (the tools, resources and prompts its server scenarios call; the same
// names crates/conformance-server serves for 2025-11-25) over streamable HTTP, both eras:
// 2026-07-28 requests without a session, and 2025 initialize through the SDK's stateless
// legacy fallback (the gateway's side of the conversation).
//
//   node fixture-server.mjs [--allowed-host HOST]...
//
// Listens on a free loopback port and prints one line on stdout once it accepts
// connections: `listening on http://127.0.0.1:<port>/mcp`. Requests whose Host is not
// loopback or an --allowed-host are answered 403 (DNS-rebinding protection).

import http from 'node:http';
import { Readable } from 'node:stream';
import {
    McpServer,
    MissingRequiredClientCapabilityError,
    ResourceTemplate,
    completable,
    createMcpHandler,
    fromJsonSchema,
    inputRequired,
} from '@modelcontextprotocol/server';
import { z } from 'zod';

// A 1x1 PNG and a tiny WAV: the suite checks types and MIME types, not pixels.
const PNG =
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const WAV = 'UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA=';

const noArgs = fromJsonSchema({ type: 'object', properties: {} });

/** One McpServer with the whole fixture contract; the handler builds one per request. */
function fixture() {
    const server = new McpServer(
        { name: 'mcp-gateway-conformance-fixture-2026', version: '1.0.0' },
        { capabilities: { logging: {}, completions: {} } },
    );

    server.registerTool(
        'test_simple_text',
        { description: 'Returns a simple text', inputSchema: noArgs },
        async () => ({ content: [{ type: 'text', text: 'This is a simple text response for testing.' }] }),
    );
    server.registerTool(
        'test_image_content',
        { description: 'Returns an image', inputSchema: noArgs },
        async () => ({ content: [{ type: 'image', data: PNG, mimeType: 'image/png' }] }),
    );
    server.registerTool(
        'test_audio_content',
        { description: 'Returns audio', inputSchema: noArgs },
        async () => ({ content: [{ type: 'audio', data: WAV, mimeType: 'audio/wav' }] }),
    );
    server.registerTool(
        'test_embedded_resource',
        { description: 'Returns an embedded resource', inputSchema: noArgs },
        async () => ({
            content: [
                {
                    type: 'resource',
                    resource: {
                        uri: 'test://embedded-resource',
                        mimeType: 'text/plain',
                        text: 'This is an embedded resource content.',
                    },
                },
            ],
        }),
    );
    server.registerTool(
        'test_multiple_content_types',
        { description: 'Returns text, an image and a resource', inputSchema: noArgs },
        async () => ({
            content: [
                { type: 'text', text: 'Multiple content types test:' },
                { type: 'image', data: PNG, mimeType: 'image/png' },
                {
                    type: 'resource',
                    resource: {
                        uri: 'test://mixed-content-resource',
                        mimeType: 'application/json',
                        text: '{"test":"data","value":123}',
                    },
                },
            ],
        }),
    );
    server.registerTool(
        'test_error_handling',
        { description: 'Always fails', inputSchema: noArgs },
        async () => ({
            isError: true,
            content: [{ type: 'text', text: 'This tool intentionally returns an error for testing' }],
        }),
    );
    server.registerTool(
        'test_tool_with_progress',
        { description: 'Reports progress three times', inputSchema: noArgs },
        async (_args, ctx) => {
            const progressToken = ctx.mcpReq._meta?.progressToken;
            if (progressToken !== undefined) {
                for (const progress of [0, 50, 100]) {
                    await ctx.mcpReq.notify({
                        method: 'notifications/progress',
                        params: { progressToken, progress, total: 100, message: `Completed step ${progress}` },
                    });
                }
            }
            return { content: [{ type: 'text', text: 'Progress completed' }] };
        },
    );
    server.registerTool(
        'test_tool_with_logging',
        { description: 'Logs three messages', inputSchema: noArgs },
        async (_args, ctx) => {
            for (const data of ['Tool execution started', 'Tool processing data', 'Tool execution completed']) {
                await ctx.mcpReq.log('info', data);
            }
            return { content: [{ type: 'text', text: 'Logging completed' }] };
        },
    );

    // The diagnostic tools of the server-stateless scenario (2026-07-28).
    server.registerTool(
        'test_missing_capability',
        { description: 'Asks the client to sample, which needs the sampling capability', inputSchema: noArgs },
        async (_args, ctx) => {
            const sampled = ctx.mcpReq.inputResponses?.sample;
            if (sampled === undefined) {
                // The SDK answers -32021 itself when the client did not declare sampling.
                return inputRequired({
                    inputRequests: {
                        sample: inputRequired.createMessage({
                            messages: [{ role: 'user', content: { type: 'text', text: 'Say hello.' } }],
                            maxTokens: 10,
                        }),
                    },
                });
            }
            return { content: [{ type: 'text', text: 'The client sampled.' }] };
        },
    );
    server.registerTool(
        'test_streaming_elicitation',
        { description: 'Asks the client for a name, then greets it', inputSchema: noArgs },
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
                });
            }
            return { content: [{ type: 'text', text: `Hello, ${answer?.content?.name ?? 'stranger'}.` }] };
        },
    );
    server.registerTool(
        'test_logging_tool',
        { description: 'Logs one message (at the level the request asks for, if any)', inputSchema: noArgs },
        async (_args, ctx) => {
            await ctx.mcpReq.log('info', 'test_logging_tool ran');
            return { content: [{ type: 'text', text: 'Logged.' }] };
        },
    );
    // The diagnostic hooks that "mutate" the tool and prompt lists: they announce a change
    // to every open subscriptions/listen stream (the lists themselves stay the same).
    server.registerTool(
        'test_trigger_tool_change',
        { description: 'Announces a tool list change', inputSchema: noArgs },
        async () => {
            handler.notify.toolsChanged();
            return { content: [{ type: 'text', text: 'Announced a tool list change.' }] };
        },
    );
    server.registerTool(
        'test_trigger_prompt_change',
        { description: 'Announces a prompt list change', inputSchema: noArgs },
        async () => {
            handler.notify.promptsChanged();
            return { content: [{ type: 'text', text: 'Announced a prompt list change.' }] };
        },
    );

    server.registerResource(
        'static-text',
        'test://static-text',
        { description: 'A static text resource', mimeType: 'text/plain' },
        async (uri) => ({
            contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'This is the content of the static text resource.' }],
        }),
    );
    server.registerResource(
        'static-binary',
        'test://static-binary',
        { description: 'A static binary resource', mimeType: 'image/png' },
        async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'image/png', blob: PNG }] }),
    );
    server.registerResource(
        'template',
        new ResourceTemplate('test://template/{id}/data', { list: undefined }),
        { description: 'A resource template with an id', mimeType: 'application/json' },
        async (uri, { id }) => ({
            contents: [
                {
                    uri: uri.href,
                    mimeType: 'application/json',
                    text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }),
                },
            ],
        }),
    );

    server.registerPrompt(
        'test_simple_prompt',
        { description: 'A prompt without arguments' },
        async () => ({
            messages: [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } }],
        }),
    );
    server.registerPrompt(
        'test_prompt_with_arguments',
        {
            description: 'A prompt with two required arguments',
            argsSchema: z.object({
                // completion-complete completes arg1.
                arg1: completable(z.string().describe('First test argument'), (value) =>
                    ['paris', 'park', 'party'].filter((word) => word.startsWith(value)),
                ),
                arg2: z.string().describe('Second test argument'),
            }),
        },
        async ({ arg1, arg2 }) => ({
            messages: [
                {
                    role: 'user',
                    content: { type: 'text', text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` },
                },
            ],
        }),
    );
    server.registerPrompt(
        'test_prompt_with_embedded_resource',
        {
            description: 'A prompt embedding a resource',
            argsSchema: fromJsonSchema({
                type: 'object',
                properties: { resourceUri: { type: 'string', description: 'URI of the resource to embed' } },
                required: ['resourceUri'],
            }),
        },
        async ({ resourceUri }) => ({
            messages: [
                {
                    role: 'user',
                    content: {
                        type: 'resource',
                        resource: { uri: resourceUri, mimeType: 'text/plain', text: 'Embedded resource content for testing.' },
                    },
                },
                { role: 'user', content: { type: 'text', text: 'Please process the embedded resource above.' } },
            ],
        }),
    );
    server.registerPrompt(
        'test_prompt_with_image',
        { description: 'A prompt with an image' },
        async () => ({
            messages: [
                { role: 'user', content: { type: 'image', data: PNG, mimeType: 'image/png' } },
                { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } },
            ],
        }),
    );
    return server;
}

const allowedHosts = new Set();
for (let i = 2; i < process.argv.length; i++) {
    if (process.argv[i] === '--allowed-host' && process.argv[i + 1]) allowedHosts.add(process.argv[++i]);
    else throw new Error(`unexpected argument ${process.argv[i]}`);
}

const handler = createMcpHandler(() => fixture(), {
    onerror: (error) => console.error(`fixture: ${error?.stack ?? error}`),
});

/** Whether HOST (a Host header) names loopback or an allowed host, any port. */
function hostAllowed(host) {
    if (!host) return false;
    const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
    return ['127.0.0.1', 'localhost', '[::1]'].includes(name) || allowedHosts.has(name);
}

const server = http.createServer(async (req, res) => {
    try {
        if (!hostAllowed(req.headers.host)) {
            res.writeHead(403, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Forbidden host' } }));
            return;
        }
        if (new URL(req.url, 'http://fixture').pathname !== '/mcp') {
            res.writeHead(404).end();
            return;
        }
        const chunks = [];
        for await (const chunk of req) chunks.push(chunk);
        const headers = new Headers();
        for (const [name, value] of Object.entries(req.headers)) {
            for (const one of [value].flat()) headers.append(name, one);
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
        console.error(`fixture: ${error?.stack ?? error}`);
        if (!res.headersSent) res.writeHead(500);
        res.end();
    }
});
server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`listening on http://127.0.0.1:${server.address().port}/mcp\n`);
});
