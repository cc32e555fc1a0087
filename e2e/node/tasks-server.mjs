// A stateful streamable-HTTP MCP server built on the official TypeScript SDK, for the
// gateway's end-to-end tests of MCP Tasks (protocol 2025-11-25) and resources.
//
//   node tasks-server.mjs <name> [port]
//
// Listens on 127.0.0.1:<port> (0, the default, picks a free port) and prints one line,
// `listening on http://127.0.0.1:<port>/mcp`, on stdout; logs go to stderr.
//
// What it offers, every text naming the instance (<name>):
// - tools: `slow_echo` (taskSupport "optional": completes after `delayMs`, default 1000)
//   and `wait_forever` (taskSupport "required": never completes on its own; cancel it);
// - the tasks capability (list, cancel, task-augmented tools/call). Task ids come from
//   one counter per process ("1", "2", ...), so two instances hand out the same ids:
//   the gateway has to keep them apart. Each task belongs to the session that made it.
// - resource `file:///notes.txt`;
// - tools that send the client requests while they run, and return what came back:
//   `list_roots` (roots/list on the call's stream; returns the roots), `ask_url` (a URL-mode
//   elicitation/create, then notifications/elicitation/complete when accepted; returns
//   `{elicitationId, action}`), `ping_client` (ping on the call's stream, then on the
//   session's GET stream once that is open; returns `{callStream, getStream}`) and
//   `needs_url` (fails with the URL-elicitation-required error, -32042); `ask_name` (a form
//   elicitation of `name`; returns `{action, content}`), `sample` (a sampling request; returns
//   `{text}`) and `interview` (both, one after the other; returns `{action, name, greeting}`);
// - prompt `greeting`: elicits a name like `ask_name`, then asks to greet it.
//   Requests count their ids from 0 per session, so two instances send the same ids.

import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

import { InMemoryTaskStore } from '@modelcontextprotocol/sdk/experimental/tasks';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
    EmptyResultSchema,
    isInitializeRequest,
    UrlElicitationRequiredError,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

const [name, portArgument = '0'] = process.argv.slice(2);
if (!name) {
    console.error('usage: node tasks-server.mjs <name> [port]');
    process.exit(2);
}

/** How often clients should poll a task, in milliseconds. */
const POLL_INTERVAL_MS = 100;

/** An in-memory task store whose ids count up from 1 in this process. */
class CountingTaskStore extends InMemoryTaskStore {
    #next = 1;

    generateTaskId() {
        return String(this.#next++);
    }
}

const taskStore = new CountingTaskStore();

const log = (...parts) => console.error(`[${name}]`, ...parts);

/** The longest a tool waits for its session's GET stream. */
const GET_STREAM_WAIT_MS = 10_000;

/** The GET responses of each session, by session id. */
const getStreams = new Map();

/** Resolves once a GET stream of the session is open: only then can a request outside any
 * call reach the client (the SDK drops it otherwise). */
async function getStreamOpen(sessionId) {
    const deadline = Date.now() + GET_STREAM_WAIT_MS;
    const open = () =>
        [...(getStreams.get(sessionId) ?? [])].some(
            (response) => response.headersSent && response.statusCode === 200 && !response.writableEnded,
        );
    while (!open()) {
        if (Date.now() > deadline) {
            throw new Error(`no GET stream of session ${sessionId} within ${GET_STREAM_WAIT_MS} ms`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
}

/** Counts this process's URL elicitations, for their ids. */
let urlElicitations = 0;

/** A tool result whose text is `value` as JSON. */
const jsonResult = (value) => ({ content: [{ type: 'text', text: JSON.stringify(value) }] });

/** One McpServer per session (the SDK binds a server to one transport). */
function mcpServer() {
    const server = new McpServer(
        { name: `tasks-${name}`, version: '1.0.0' },
        {
            capabilities: {
                tools: {},
                resources: {},
                tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } },
            },
            taskStore,
        },
    );

    server.experimental.tasks.registerToolTask(
        'slow_echo',
        {
            description: `Echoes text after a delay (server ${name}); may run as a task.`,
            inputSchema: { text: z.string(), delayMs: z.number().int().min(0).optional() },
            execution: { taskSupport: 'optional' },
        },
        {
            createTask: async ({ text, delayMs = 1000 }, extra) => {
                const task = await extra.taskStore.createTask({
                    ttl: extra.taskRequestedTtl,
                    pollInterval: POLL_INTERVAL_MS,
                });
                log(`task ${task.taskId}: slow_echo ${JSON.stringify(text)} in ${delayMs} ms`);
                setTimeout(() => {
                    const result = { content: [{ type: 'text', text: `${name} echoes: ${text}` }] };
                    extra.taskStore
                        .storeTaskResult(task.taskId, 'completed', result)
                        .catch((error) => log(`task ${task.taskId}: ${error.message}`));
                }, delayMs);
                return { task };
            },
            getTask: async (_args, extra) => extra.taskStore.getTask(extra.taskId),
            getTaskResult: async (_args, extra) => extra.taskStore.getTaskResult(extra.taskId),
        },
    );

    server.experimental.tasks.registerToolTask(
        'wait_forever',
        {
            description: `Runs until cancelled (server ${name}); only as a task.`,
            execution: { taskSupport: 'required' },
        },
        {
            createTask: async (extra) => {
                const task = await extra.taskStore.createTask({
                    ttl: extra.taskRequestedTtl,
                    pollInterval: POLL_INTERVAL_MS,
                });
                log(`task ${task.taskId}: wait_forever`);
                return { task };
            },
            getTask: async (extra) => extra.taskStore.getTask(extra.taskId),
            getTaskResult: async (extra) => extra.taskStore.getTaskResult(extra.taskId),
        },
    );

    registerClientRequestTools(server);

    server.registerPrompt(
        'greeting',
        { description: `Asks the user for a name, then greets it (server ${name}).` },
        async (extra) => {
            const answer = await askName(server, extra);
            const text = `Greet ${answer.content?.name ?? 'nobody'} (${answer.action})`;
            return { messages: [{ role: 'user', content: { type: 'text', text } }] };
        },
    );

    server.registerResource(
        'notes',
        'file:///notes.txt',
        { description: `Notes of the ${name} server`, mimeType: 'text/plain' },
        async (uri) => ({
            contents: [{ uri: uri.href, mimeType: 'text/plain', text: `Notes of the ${name} server.` }],
        }),
    );
    return server;
}

/** The tools that send the client requests while they run (see the top of the file). */
function registerClientRequestTools(server) {
    server.registerTool(
        'list_roots',
        { description: `Returns the client's roots (server ${name}).` },
        async (extra) => {
            const { roots } = await server.server.listRoots(undefined, { relatedRequestId: extra.requestId });
            return jsonResult(roots);
        },
    );

    server.registerTool(
        'ask_name',
        { description: `Asks the user for a name (server ${name}).` },
        async (extra) => {
            const answer = await askName(server, extra);
            return jsonResult(answer);
        },
    );

    server.registerTool(
        'sample',
        { description: `Asks the client's model to write a haiku (server ${name}).` },
        async (extra) => {
            const text = await sample(server, extra, `${name}: write a haiku`);
            return jsonResult({ text });
        },
    );

    server.registerTool(
        'interview',
        { description: `Asks the user for a name, then the model to greet them (server ${name}).` },
        async (extra) => {
            const answer = await askName(server, extra);
            const greeting = await sample(server, extra, `greet ${answer.content?.name ?? 'nobody'}`);
            return jsonResult({ action: answer.action, name: answer.content?.name ?? null, greeting });
        },
    );

    server.registerTool(
        'ask_url',
        { description: `Asks the user to visit a URL (server ${name}).` },
        async (extra) => {
            const elicitationId = `${name}-url-${++urlElicitations}`;
            const related = { relatedRequestId: extra.requestId };
            const { action } = await server.server.elicitInput(
                {
                    mode: 'url',
                    message: `${name} needs your consent`,
                    url: `https://example.com/${name}/consent?id=${elicitationId}`,
                    elicitationId,
                },
                related,
            );
            if (action === 'accept') {
                await server.server.createElicitationCompletionNotifier(elicitationId, related)();
            }
            return jsonResult({ elicitationId, action });
        },
    );

    server.registerTool(
        'needs_url',
        { description: `Fails until the user authorizes at a URL (server ${name}).` },
        async () => {
            throw new UrlElicitationRequiredError([
                {
                    mode: 'url',
                    message: `${name} needs authorization`,
                    url: `https://example.com/${name}/authorize`,
                    elicitationId: `${name}-authorize`,
                },
            ]);
        },
    );

    server.registerTool(
        'ping_client',
        { description: `Pings the client during the call (server ${name}).` },
        async (extra) => {
            // server.server.ping() takes no options: it always goes to the GET stream.
            await extra.sendRequest({ method: 'ping' }, EmptyResultSchema);
            await getStreamOpen(extra.sessionId);
            await server.server.ping();
            return jsonResult({ callStream: 'answered', getStream: 'answered' });
        },
    );
}

/** A form elicitation of the user's name, on the call's stream; returns `{action, content}`. */
async function askName(server, extra) {
    const { action, content } = await server.server.elicitInput(
        {
            message: `${name} asks: what is your name?`,
            requestedSchema: {
                type: 'object',
                properties: { name: { type: 'string' } },
                required: ['name'],
            },
        },
        { relatedRequestId: extra.requestId },
    );
    return { action, content: content ?? null };
}

/** A sampling request with `prompt`, on the call's stream; returns the model's text. */
async function sample(server, extra, prompt) {
    const result = await server.server.createMessage(
        {
            messages: [{ role: 'user', content: { type: 'text', text: prompt } }],
            maxTokens: 50,
        },
        { relatedRequestId: extra.requestId },
    );
    return result.content?.text ?? null;
}

/** Open sessions by id. */
const sessions = new Map();

async function readJson(request) {
    const chunks = [];
    for await (const chunk of request) {
        chunks.push(chunk);
    }
    const body = Buffer.concat(chunks).toString('utf8');
    return body ? JSON.parse(body) : undefined;
}

function sendError(response, status, code, message) {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

/** Remembers a GET of the session until it closes (see getStreamOpen). */
function trackGetStream(sessionId, response) {
    const streams = getStreams.get(sessionId) ?? new Set();
    getStreams.set(sessionId, streams.add(response));
    response.on('close', () => streams.delete(response));
}

async function handle(request, response) {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== '/mcp') {
        response.writeHead(404).end();
        return;
    }
    const sessionId = request.headers['mcp-session-id'];
    const session = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    let body;
    try {
        body = request.method === 'POST' ? await readJson(request) : undefined;
    } catch {
        sendError(response, 400, -32700, 'Parse error');
        return;
    }

    if (session) {
        if (request.method === 'GET') {
            trackGetStream(sessionId, response);
        }
        await session.handleRequest(request, response, body);
        return;
    }
    if (sessionId !== undefined) {
        sendError(response, 404, -32001, 'Session not found');
        return;
    }
    if (request.method !== 'POST' || !isInitializeRequest(body)) {
        sendError(response, 400, -32000, 'Bad Request: no valid session id');
        return;
    }
    const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
            sessions.set(id, transport);
            log(`session ${id} opened`);
        },
    });
    transport.onclose = () => {
        if (transport.sessionId) {
            sessions.delete(transport.sessionId);
            getStreams.delete(transport.sessionId);
            log(`session ${transport.sessionId} closed`);
        }
    };
    await mcpServer().connect(transport);
    await transport.handleRequest(request, response, body);
}

const http = createServer((request, response) => {
    handle(request, response).catch((error) => {
        log('error handling a request:', error);
        if (!response.headersSent) {
            sendError(response, 500, -32603, 'Internal error');
        } else {
            response.end();
        }
    });
});

http.listen(Number(portArgument), '127.0.0.1', () => {
    const { port } = http.address();
    console.log(`listening on http://127.0.0.1:${port}/mcp`);
});
