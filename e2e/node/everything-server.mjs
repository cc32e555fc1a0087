// The official "everything" MCP server (@modelcontextprotocol/server-everything, pinned in
// package.json) over streamable HTTP on a free loopback port, for e2e/tests/everything.rs.
// Its own logs go to stderr; once it accepts connections this prints one line on stdout:
// `listening on http://127.0.0.1:<port>/mcp`.

import net from 'node:net';

/** A port free right now on 127.0.0.1. */
function freePort() {
    return new Promise((resolve, reject) => {
        const probe = net.createServer();
        probe.once('error', reject);
        probe.listen(0, '127.0.0.1', () => {
            const { port } = probe.address();
            probe.close(() => resolve(port));
        });
    });
}

/** Resolves once something accepts connections on the port. */
async function accepting(port) {
    for (let tries = 0; tries < 200; tries++) {
        const up = await new Promise((resolve) => {
            const socket = net.connect(port, '127.0.0.1');
            socket.once('connect', () => { socket.destroy(); resolve(true); });
            socket.once('error', () => resolve(false));
        });
        if (up) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`nothing listens on port ${port}`);
}

const port = await freePort();
process.env.PORT = String(port);
// The server logs on stdout; keep stdout for the announcement alone.
console.log = (...args) => console.error(...args);
await import('@modelcontextprotocol/server-everything/dist/transports/streamableHttp.js');
await accepting(port);
process.stdout.write(`listening on http://127.0.0.1:${port}/mcp\n`);
