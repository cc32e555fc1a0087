// The official TypeScript SDK's client doing the MCP authorization flow against the gateway
// (e2e/tests/auth.rs, and the `make run-auth` demo): given only the MCP URL and its client
// credentials, it is refused (401), follows `resource_metadata` from WWW-Authenticate to the
// protected-resource metadata, finds the authorization server there, gets a token with the
// client-credentials grant for the advertised `resource`, and calls a tool. Prints what it
// saw as one JSON object.
//
//   node oauth-client.mjs <mcp-url> <client-id> <client-secret> <expected-issuer> <tool> <arguments-json>

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';

const [url, clientId, clientSecret, expectedIssuer, tool, args] = process.argv.slice(2);

// Every request the client makes, in order (method, URL, status, challenge).
const seen = [];
const recordingFetch = async (input, init) => {
  const response = await fetch(input, init);
  seen.push({
    method: init?.method ?? 'GET',
    url: String(input instanceof Request ? input.url : input),
    status: response.status,
    challenge: response.headers.get('www-authenticate') ?? undefined,
  });
  return response;
};

// The SDK's client-credentials provider asks for the scope it is configured with (the
// gateway's required scope, `mcp`).
const authProvider = new ClientCredentialsProvider({
  clientId, clientSecret, expectedIssuer, scope: 'mcp',
});
const transport = new StreamableHTTPClientTransport(new URL(url), {
  authProvider,
  fetch: recordingFetch,
});
const client = new Client({ name: 'mcp-gateway-e2e-oauth', version: '0' });

async function connect() {
  try {
    await client.connect(transport);
  } catch (error) {
    // The SDK's first attempt answers 401; with the token now held, connect again.
    if (error?.constructor?.name !== 'UnauthorizedError' && !/Unauthorized/.test(String(error))) {
      throw error;
    }
    await client.connect(new StreamableHTTPClientTransport(new URL(url), {
      authProvider,
      fetch: recordingFetch,
    }));
  }
}

try {
  await connect();
  const tools = (await client.listTools()).tools.map((t) => t.name);
  const result = await client.callTool({ name: tool, arguments: JSON.parse(args) });
  const token = authProvider.tokens()?.access_token ?? '';
  const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString() || '{}');
  process.stdout.write(`${JSON.stringify({
    seen,
    tools,
    result: result.content?.[0]?.text,
    audience: claims.aud,
    subject: claims.sub,
  })}\n`);
  await client.close();
} catch (error) {
  process.stderr.write(`${error?.stack ?? error}\n${JSON.stringify(seen)}\n`);
  process.exit(1);
}
