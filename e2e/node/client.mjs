// A scripted MCP client built on the official TypeScript SDK, for the gateway's
// end-to-end tests (e2e/tests/typescript.rs). It runs one scenario against an MCP
// endpoint and prints what it observed as one JSON object on stdout; on failure it
// prints the reason on stderr and exits non-zero.
//
//   node client.mjs <url> basics [<tool> <arguments-json>]...
//   node client.mjs <url> tasks
//   node client.mjs <url> resources
//   node client.mjs <url> server-requests
//
// basics:    the negotiated protocol version, server capabilities, tools/list and a
//            plain tools/call of each <tool> given.
// tasks:     task-augmented calls of every `*slow_echo` tool at once (the SDK's
//            callToolStream: create, poll tasks/get, tasks/result), then tasks/get and
//            tasks/result of each task again, a `*wait_forever` task cancelled, tasks/list,
//            the error codes of tasks/get, tasks/result and tasks/cancel for an unknown
//            id, and the notifications/tasks/status received.
// resources: resources/list, then resources/read of every listed URI.
// server-requests: a client with roots and elicitation (form and URL) calls every
//            `*list_roots` tool at once (answering roots/list only when all of them asked,
//            with a root naming the client and the id it was asked by), then every
//            `*ask_url` (URL elicitations accepted), `*needs_url` (its error code and data)
//            and `*ping_client` tool in turn; it reports the tools' results and every
//            request the server sent (method, id as received).
//
// Works against a tasks server directly (raw task ids) and through the gateway
// (prefixed tool names, `<server>:<id>` task ids).

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
    CallToolResultSchema,
    CreateTaskResultSchema,
    ElicitationCompleteNotificationSchema,
    ElicitRequestSchema,
    ListRootsRequestSchema,
    RELATED_TASK_META_KEY,
    TaskStatusNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';

/** How long task results are kept, as the client asks. */
const TASK_TTL_MS = 60_000;

/** The longest wait for the status notifications of finished tasks. */
const NOTIFICATION_WAIT_MS = 5_000;

/** The task id an unknown-id request uses: no server of the gateway is called `nosuch`. */
const UNKNOWN_TASK_ID = 'nosuch:1';

/** The client's name, also in its roots. */
const CLIENT_NAME = 'mcp-gateway-e2e-ts';

/** The longest a roots/list request waits for the others before it is answered. */
const QUORUM_WAIT_MS = 10_000;

/** What the client declares, per scenario (none unless named). */
const CAPABILITIES = {
    'server-requests': { roots: {}, elicitation: { form: {}, url: {} } },
};

class Failure extends Error {
    constructor(message, code) {
        super(message);
        this.code = code;
    }
}

/** Runs one step of a scenario; its failure names the step (and keeps the error code). */
async function step(what, run) {
    try {
        return await run();
    } catch (error) {
        throw new Failure(`${what}: ${error.message}`, error.code);
    }
}

/** `fetch` that reports every non-2xx response on stderr, with what was sent. */
async function reportingFetch(url, init) {
    const response = await fetch(url, init);
    if (!response.ok) {
        const body = await response.clone().text();
        const sent = typeof init?.body === 'string' ? ` ${init.body}` : '';
        console.error(
            `HTTP ${response.status} (${response.headers.get('content-type') ?? '-'}) ` +
                `for ${init?.method ?? 'GET'}${sent}: ${JSON.stringify(body)}`,
        );
    }
    return response;
}

/** A connected client that records every notifications/tasks/status and every request
 * (`{method, id}`, the id as received) it receives. */
async function connect(url, capabilities) {
    const client = new Client({ name: CLIENT_NAME, version: '1.0.0' }, { capabilities });
    const statusNotifications = [];
    client.setNotificationHandler(TaskStatusNotificationSchema, (notification) => {
        const { taskId, status } = notification.params;
        statusNotifications.push({ taskId, status });
    });
    client.onerror = (error) => console.error(`client error: ${error.message}`);
    const transport = new StreamableHTTPClientTransport(new URL(url), { fetch: reportingFetch });
    await client.connect(transport);
    const serverRequests = [];
    const deliver = transport.onmessage;
    transport.onmessage = (message, extra) => {
        if ('method' in message && 'id' in message) {
            serverRequests.push({ method: message.method, id: message.id });
        }
        deliver?.(message, extra);
    };
    return { client, transport, statusNotifications, serverRequests };
}

/** Every tool, following cursors. */
async function listAllTools(client) {
    const tools = [];
    let cursor;
    do {
        const page = await client.listTools(cursor ? { cursor } : undefined);
        tools.push(...page.tools);
        cursor = page.nextCursor;
    } while (cursor);
    return tools;
}

/** The text of a tool result's first text content, or null. */
function firstText(result) {
    const content = (result?.content ?? []).find((item) => item.type === 'text');
    return content ? content.text : null;
}

/** The JSON-RPC error code of a failed request (null for an error without one). */
async function errorCode(request) {
    try {
        const result = await request();
        throw new Failure(`expected an error, got ${JSON.stringify(result)}`);
    } catch (error) {
        if (error instanceof Failure) {
            throw error;
        }
        return typeof error.code === 'number' ? error.code : null;
    }
}

async function basics({ client, transport }, calls) {
    if (calls.length % 2 !== 0) {
        throw new Failure('basics takes <tool> <arguments-json> pairs');
    }
    const tools = await step('tools/list', () => listAllTools(client));
    const results = [];
    for (let i = 0; i < calls.length; i += 2) {
        const name = calls[i];
        const result = await step(`tools/call ${name}`, () =>
            client.callTool({ name, arguments: JSON.parse(calls[i + 1]) }),
        );
        results.push({ name, text: firstText(result), isError: result.isError ?? false });
    }
    return {
        protocolVersion: transport.protocolVersion ?? null,
        serverInfo: client.getServerVersion() ?? null,
        capabilities: client.getServerCapabilities() ?? null,
        tools: tools.map((tool) => ({ name: tool.name, taskSupport: tool.execution?.taskSupport ?? null })),
        calls: results,
    };
}

/** A task-augmented call through the SDK's callToolStream, and what its messages showed. */
async function streamTaskCall(client, name, text) {
    const observed = { tool: name, taskId: null, statuses: [], text: null, relatedTaskId: null, error: null };
    const stream = client.experimental.tasks.callToolStream(
        { name, arguments: { text } },
        CallToolResultSchema,
        { task: { ttl: TASK_TTL_MS } },
    );
    for await (const message of stream) {
        switch (message.type) {
            case 'taskCreated':
                observed.taskId = message.task.taskId;
                break;
            case 'taskStatus':
                observed.statuses.push(message.task.status);
                break;
            case 'result':
                observed.text = firstText(message.result);
                observed.relatedTaskId = message.result._meta?.[RELATED_TASK_META_KEY]?.taskId ?? null;
                break;
            case 'error':
                observed.error = { code: message.error.code ?? null, message: message.error.message };
                break;
        }
    }
    return observed;
}

/** Every task of tasks/list, following cursors, and how many pages it took. */
async function listAllTasks(client) {
    const tasks = [];
    let cursor;
    let pages = 0;
    do {
        const page = await client.experimental.tasks.listTasks(cursor);
        pages += 1;
        tasks.push(...page.tasks.map((task) => ({ taskId: task.taskId, status: task.status })));
        cursor = page.nextCursor;
    } while (cursor);
    return { tasks, pages };
}

/** Waits until `done()` holds or `ms` passed. */
async function waitUntil(done, ms) {
    const deadline = Date.now() + ms;
    while (!done() && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
}

/** Waits until a status notification of each id arrived or the wait is over. */
async function awaitNotifications(statusNotifications, taskIds) {
    await waitUntil(
        () => taskIds.every((id) => statusNotifications.some((n) => n.taskId === id)),
        NOTIFICATION_WAIT_MS,
    );
}

async function tasks({ client, statusNotifications }) {
    const tools = await step('tools/list', () => listAllTools(client));
    const names = tools.map((tool) => tool.name).sort();
    const slow = names.filter((name) => name.endsWith('slow_echo'));
    // The first by name: through the gateway, that of the server first in the alphabet.
    const forever = names.find((name) => name.endsWith('wait_forever'));
    if (slow.length === 0 || !forever) {
        throw new Failure(`no slow_echo or wait_forever tool in ${names}`);
    }
    const capabilities = client.getServerCapabilities();
    const tasksApi = client.experimental.tasks;

    // Both backends' tasks at once: their ids are handed out concurrently.
    const calls = await Promise.all(slow.map((name) => streamTaskCall(client, name, `hello ${name}`)));

    // Each finished task again, by the id the call returned.
    const finished = [];
    for (const call of calls) {
        if (!call.taskId) {
            continue;
        }
        const task = await step(`tasks/get ${call.taskId}`, () => tasksApi.getTask(call.taskId));
        const result = await step(`tasks/result ${call.taskId}`, () =>
            tasksApi.getTaskResult(call.taskId, CallToolResultSchema),
        );
        finished.push({
            taskId: call.taskId,
            get: { taskId: task.taskId, status: task.status },
            result: {
                text: firstText(result),
                relatedTaskId: result._meta?.[RELATED_TASK_META_KEY]?.taskId ?? null,
            },
        });
    }

    // A task that runs until cancelled.
    const created = await step(`task-augmented tools/call ${forever}`, () =>
        client.request(
            { method: 'tools/call', params: { name: forever, arguments: {} } },
            CreateTaskResultSchema,
            { task: { ttl: TASK_TTL_MS } },
        ),
    );
    const foreverId = created.task.taskId;
    const before = await step(`tasks/get ${foreverId}`, () => tasksApi.getTask(foreverId));
    const cancelled = await step(`tasks/cancel ${foreverId}`, () => tasksApi.cancelTask(foreverId));
    const after = await step(`tasks/get ${foreverId} after tasks/cancel`, () => tasksApi.getTask(foreverId));

    const list = await step('tasks/list', () => listAllTasks(client));
    const unknown = {
        get: await errorCode(() => tasksApi.getTask(UNKNOWN_TASK_ID)),
        result: await errorCode(() => tasksApi.getTaskResult(UNKNOWN_TASK_ID, CallToolResultSchema)),
        cancel: await errorCode(() => tasksApi.cancelTask(UNKNOWN_TASK_ID)),
    };

    await awaitNotifications(
        statusNotifications,
        calls.map((call) => call.taskId).filter(Boolean),
    );
    return {
        capabilities: capabilities?.tasks ?? null,
        tools: tools.map((tool) => ({ name: tool.name, taskSupport: tool.execution?.taskSupport ?? null })),
        calls,
        finished,
        cancel: {
            tool: forever,
            taskId: foreverId,
            created: created.task.status,
            before: before.status,
            cancelled: { taskId: cancelled.taskId, status: cancelled.status },
            after: { taskId: after.taskId, status: after.status },
        },
        list,
        unknown,
        notifications: [...statusNotifications],
    };
}

async function resources({ client }) {
    const listed = [];
    let cursor;
    do {
        const page = await step('resources/list', () => client.listResources(cursor ? { cursor } : undefined));
        listed.push(...page.resources);
        cursor = page.nextCursor;
    } while (cursor);
    const reads = [];
    for (const resource of listed) {
        const result = await step(`resources/read ${resource.uri}`, () => client.readResource({ uri: resource.uri }));
        reads.push({
            uri: resource.uri,
            contents: result.contents.map((content) => ({ uri: content.uri, text: content.text ?? null })),
        });
    }
    return { uris: listed.map((resource) => resource.uri), reads };
}

/** `{tool, isError, value}` of a call: value is the result's text, parsed when JSON. */
async function callForValue(client, tool) {
    const result = await step(`tools/call ${tool}`, () => client.callTool({ name: tool, arguments: {} }));
    const text = firstText(result);
    let value = text;
    try {
        value = JSON.parse(text);
    } catch {
        // Not JSON: an error message, kept as text.
    }
    return { tool, isError: result.isError ?? false, value };
}

/** `{tool, code, data}` of a call that must fail with a JSON-RPC error. */
async function callForError(client, tool) {
    try {
        const result = await client.callTool({ name: tool, arguments: {} });
        throw new Failure(`tools/call ${tool}: expected an error, got ${JSON.stringify(result)}`);
    } catch (error) {
        if (error instanceof Failure) {
            throw error;
        }
        return { tool, code: typeof error.code === 'number' ? error.code : null, data: error.data ?? null };
    }
}

async function serverRequests({ client, serverRequests: requests }) {
    const tools = await step('tools/list', () => listAllTools(client));
    const names = tools.map((tool) => tool.name).sort();
    const ending = (suffix) => names.filter((name) => name.endsWith(suffix));
    const rootsTools = ending('list_roots');
    if (rootsTools.length === 0) {
        throw new Failure(`no list_roots tool in ${names}`);
    }

    // roots/list: answered once every list_roots tool asked, so the requests overlap.
    const rootsIds = [];
    let pending = 0;
    let mostPending = 0;
    client.setRequestHandler(ListRootsRequestSchema, async (_request, extra) => {
        rootsIds.push(extra.requestId);
        pending += 1;
        mostPending = Math.max(mostPending, pending);
        await waitUntil(() => rootsIds.length >= rootsTools.length, QUORUM_WAIT_MS);
        pending -= 1;
        const asked = JSON.stringify(extra.requestId);
        return { roots: [{ uri: `file:///${CLIENT_NAME}/`, name: `${CLIENT_NAME}, asked as ${asked}` }] };
    });

    // URL elicitations are accepted, anything else declined.
    const elicitations = [];
    client.setRequestHandler(ElicitRequestSchema, async (request, extra) => {
        const { mode, message, url, elicitationId } = request.params;
        elicitations.push({ id: extra.requestId, mode, message, url: url ?? null, elicitationId: elicitationId ?? null });
        return { action: mode === 'url' ? 'accept' : 'decline' };
    });
    const completed = [];
    client.setNotificationHandler(ElicitationCompleteNotificationSchema, (notification) => {
        completed.push(notification.params.elicitationId);
    });

    const roots = await Promise.all(rootsTools.map((tool) => callForValue(client, tool)));
    const askUrl = [];
    for (const tool of ending('ask_url')) {
        askUrl.push(await callForValue(client, tool));
    }
    await waitUntil(() => completed.length >= askUrl.length, NOTIFICATION_WAIT_MS);
    const needsUrl = [];
    for (const tool of ending('needs_url')) {
        needsUrl.push(await callForError(client, tool));
    }
    const ping = [];
    for (const tool of ending('ping_client')) {
        ping.push(await callForValue(client, tool));
    }
    return {
        roots,
        rootsRequests: { ids: rootsIds, mostPending },
        askUrl,
        elicitations,
        completed,
        needsUrl,
        ping,
        requests: [...requests],
    };
}

const SCENARIOS = { basics, tasks, resources, 'server-requests': serverRequests };

async function main() {
    const [url, scenario, ...rest] = process.argv.slice(2);
    const run = SCENARIOS[scenario];
    if (!url || !run) {
        throw new Failure(`usage: node client.mjs <url> <${Object.keys(SCENARIOS).join('|')}> [args...]`);
    }
    const session = await connect(url, CAPABILITIES[scenario] ?? {});
    try {
        const observed = await run(session, rest);
        process.stdout.write(`${JSON.stringify(observed)}\n`);
    } finally {
        await session.transport.terminateSession().catch(() => {});
        await session.client.close();
    }
}

main().catch((error) => {
    const code = typeof error.code === 'number' ? ` (code ${error.code})` : '';
    console.error(`client.mjs failed${code}: ${error.message}`);
    process.exit(1);
});
