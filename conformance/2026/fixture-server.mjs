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

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
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

/** Signs the requestState of multi-round-trip requests (one key per process). */
const STATE_KEY = randomBytes(32);

/** `payload` as a requestState: Base64url JSON, `.`, an HMAC-SHA256 tag. */
function sealState(payload) {
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${createHmac('sha256', STATE_KEY).update(body).digest('base64url')}`;
}

/** The payload of a requestState this process sealed; throws for any other. */
function openState(state) {
    const [body, tag, extra] = String(state).split('.');
    const want = createHmac('sha256', STATE_KEY).update(body ?? '').digest();
    const got = Buffer.from(tag ?? '', 'base64url');
    if (!body || extra !== undefined || got.length !== want.length || !timingSafeEqual(got, want)) {
        throw new Error('requestState failed its integrity check');
    }
    return JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
}

/** A form elicitation of one string property. */
const ask = (message, property) =>
    inputRequired.elicit({
        message,
        requestedSchema: { type: 'object', properties: { [property]: { type: 'string' } }, required: [property] },
    });

/** The accepted content of the answer under `key`, if it is a well-formed accepted elicitation. */
function accepted(ctx, key) {
    const answer = ctx.mcpReq.inputResponses?.[key];
    return answer?.action === 'accept' && typeof answer.content === 'object' ? answer.content : undefined;
}

const text = (value) => ({ content: [{ type: 'text', text: value }] });

/** The multi-round-trip tools and prompt of the input-required-result-* scenarios (SEP-2322). */
function registerInputRequired(server) {
    const userName = () => ask('What is your name?', 'name');
    server.registerTool(
        'test_input_required_result_elicitation',
        { description: 'Asks for a name, then greets it', inputSchema: noArgs },
        async (_args, ctx) => {
            const name = accepted(ctx, 'user_name')?.name;
            if (typeof name !== 'string') return inputRequired({ inputRequests: { user_name: userName() } });
            return text(`Hello, ${name}!`);
        },
    );
    server.registerTool(
        'test_input_required_result_sampling',
        { description: "Asks the client's model a question", inputSchema: noArgs },
        async (_args, ctx) => {
            const answer = ctx.mcpReq.inputResponses?.capital_question;
            if (answer === undefined) {
                return inputRequired({
                    inputRequests: {
                        capital_question: inputRequired.createMessage({
                            messages: [{ role: 'user', content: { type: 'text', text: 'What is the capital of France?' } }],
                            maxTokens: 100,
                        }),
                    },
                });
            }
            return text(`The model said: ${answer.content?.text ?? ''}`);
        },
    );
    server.registerTool(
        'test_input_required_result_list_roots',
        { description: "Lists the client's roots", inputSchema: noArgs },
        async (_args, ctx) => {
            const roots = ctx.mcpReq.inputResponses?.client_roots?.roots;
            if (!Array.isArray(roots)) return inputRequired({ inputRequests: { client_roots: inputRequired.listRoots() } });
            return text(`Roots: ${roots.map((root) => root.uri).join(', ')}`);
        },
    );
    server.registerTool(
        'test_input_required_result_request_state',
        { description: 'Asks for a confirmation, carrying state', inputSchema: noArgs },
        async (_args, ctx) => {
            const state = ctx.mcpReq.requestState();
            const answer = ctx.mcpReq.inputResponses?.confirm;
            if (state?.step !== 'confirm' || answer === undefined) {
                return inputRequired({
                    inputRequests: {
                        confirm: inputRequired.elicit({
                            message: 'Please confirm',
                            requestedSchema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] },
                        }),
                    },
                    requestState: sealState({ step: 'confirm' }),
                });
            }
            return text(`state-ok: confirmed (${answer.action})`);
        },
    );
    server.registerTool(
        'test_input_required_result_multiple_inputs',
        { description: 'Asks for a name, a greeting and the roots at once', inputSchema: noArgs },
        async (_args, ctx) => {
            const responses = ctx.mcpReq.inputResponses ?? {};
            const state = ctx.mcpReq.requestState();
            const complete = ['user_name', 'greeting', 'client_roots'].every((key) => responses[key] !== undefined);
            if (state?.step !== 'all' || !complete) {
                return inputRequired({
                    inputRequests: {
                        user_name: userName(),
                        greeting: inputRequired.createMessage({
                            messages: [{ role: 'user', content: { type: 'text', text: 'Generate a greeting' } }],
                            maxTokens: 50,
                        }),
                        client_roots: inputRequired.listRoots(),
                    },
                    requestState: sealState({ step: 'all' }),
                });
            }
            return text(`Got all three: ${responses.user_name.content?.name ?? '?'}`);
        },
    );
    server.registerTool(
        'test_input_required_result_multi_round',
        { description: 'Asks two questions, one per round', inputSchema: noArgs },
        async (_args, ctx) => {
            const state = ctx.mcpReq.requestState();
            if (state?.round === 1) {
                const name = accepted(ctx, 'step1')?.name;
                if (typeof name === 'string') {
                    return inputRequired({
                        inputRequests: { step2: ask('Step 2: What is your favorite color?', 'color') },
                        requestState: sealState({ round: 2, name }),
                    });
                }
            } else if (state?.round === 2) {
                const color = accepted(ctx, 'step2')?.color;
                if (typeof color === 'string') return text(`${state.name} likes ${color}`);
                return inputRequired({
                    inputRequests: { step2: ask('Step 2: What is your favorite color?', 'color') },
                    requestState: sealState(state),
                });
            }
            return inputRequired({
                inputRequests: { step1: ask('Step 1: What is your name?', 'name') },
                requestState: sealState({ round: 1 }),
            });
        },
    );
    server.registerTool(
        'test_input_required_result_tampered_state',
        { description: 'Carries signed state; a tampered one is refused', inputSchema: noArgs },
        async (_args, ctx) => {
            // A tampered state never gets here: the server's requestState.verify refuses it.
            if (ctx.mcpReq.requestState()?.step === 'signed' && accepted(ctx, 'user_name') !== undefined) {
                return text('state-ok');
            }
            return inputRequired({ inputRequests: { user_name: userName() }, requestState: sealState({ step: 'signed' }) });
        },
    );
    server.registerTool(
        'test_input_required_result_capabilities',
        { description: 'Asks only what the client declared it can answer', inputSchema: noArgs },
        async (_args, ctx) => {
            const declared =
                ctx.mcpReq._meta?.['io.modelcontextprotocol/clientCapabilities'] ??
                server.server.getClientCapabilities?.() ??
                {};
            const responses = ctx.mcpReq.inputResponses ?? {};
            const inputRequests = {};
            if (declared.sampling && responses.sample === undefined) {
                inputRequests.sample = inputRequired.createMessage({
                    messages: [{ role: 'user', content: { type: 'text', text: 'Say hello.' } }],
                    maxTokens: 10,
                });
            }
            if (declared.elicitation && responses.user_name === undefined) inputRequests.user_name = userName();
            if (Object.keys(inputRequests).length > 0) return inputRequired({ inputRequests });
            return text('Nothing more to ask.');
        },
    );
    server.registerPrompt(
        'test_input_required_result_prompt',
        { description: 'A prompt that asks the user for its context' },
        async (ctx) => {
            const context = accepted(ctx, 'user_context')?.context;
            if (typeof context !== 'string') {
                return inputRequired({
                    inputRequests: { user_context: ask('What context should the prompt use?', 'context') },
                });
            }
            return {
                messages: [{ role: 'user', content: { type: 'text', text: `Use this context: ${context}` } }],
            };
        },
    );
}

/** One McpServer with the whole fixture contract; the handler builds one per request. */
function fixture() {
    const server = new McpServer(
        { name: 'mcp-gateway-conformance-fixture-2026', version: '1.0.0' },
        { capabilities: { logging: {}, completions: {} }, requestState: { verify: openState } },
    );
    registerInputRequired(server);

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
