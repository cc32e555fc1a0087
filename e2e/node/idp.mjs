// A real OpenID provider for the e2e tests and `make run-auth`: the certified `oidc-provider`
// package with
// - client-credentials clients (IDP_CLIENTS: `id:secret,id:secret`; `id:secret:ttl` gives
//   that client's tokens a lifetime of `ttl` seconds instead of IDP_TOKEN_TTL);
// - RFC 8707 resource indicators: a token requested with `resource=<url>` is a JWT (RS256)
//   whose `aud` is that URL, for any http(s) resource (IDP_SCOPES are the scopes a resource
//   offers);
// - RFC 8693 token exchange as a registered grant: a client trades a subject token this
//   provider issued for one with another `resource` (audience), same `sub`, `act.sub` = the
//   client;
// - signing keys kept in IDP_KEYS (a JSON file): created when missing; IDP_ROTATE=1 puts a new
//   key first (it signs from now on) and keeps the previous one published, which is how keys
//   are rotated without refusing tokens already issued.
//
// Env: IDP_PORT (listen, loopback; 0: any free port), IDP_ISSUER (default http://127.0.0.1:<port>), IDP_KEYS,
// IDP_CLIENTS, IDP_SCOPES (default "mcp"), IDP_TOKEN_TTL seconds (default 3600).
// Prints `ready <issuer>` on stdout once it listens.

import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import Provider, { errors } from 'oidc-provider';
import {
  calculateJwkThumbprint, createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify,
} from 'jose';

// Listening first: with IDP_PORT=0 the system picks a free port, named in the issuer (and
// so in the announcement), and no other process can take it in between.
const server = createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(Number(process.env.IDP_PORT ?? 8890), '127.0.0.1', resolve);
});
const port = server.address().port;
const issuer = process.env.IDP_ISSUER ?? `http://127.0.0.1:${port}`;
const keysFile = process.env.IDP_KEYS ?? '';
const scopes = process.env.IDP_SCOPES ?? 'mcp';
const tokenTtl = Number(process.env.IDP_TOKEN_TTL ?? 3600);
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

async function newKey() {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  jwk.kid = await calculateJwkThumbprint(jwk);
  jwk.alg = 'RS256';
  jwk.use = 'sig';
  return jwk;
}

async function signingKeys() {
  let keys = keysFile && existsSync(keysFile) ? JSON.parse(readFileSync(keysFile, 'utf8')) : [];
  if (keys.length === 0 || process.env.IDP_ROTATE === '1') {
    keys = [await newKey(), ...keys].slice(0, 2);
  }
  if (keysFile) writeFileSync(keysFile, JSON.stringify(keys));
  return keys;
}

const keys = await signingKeys();
const publicKeys = {
  keys: keys.map(({ kty, n, e, kid, alg, use }) => ({ kty, n, e, kid, alg, use })),
};

const ttls = new Map();
const clients = (process.env.IDP_CLIENTS ?? 'alice:alice-secret,bob:bob-secret')
  .split(',')
  .filter(Boolean)
  .map((pair) => {
    const [id, secret, ttl] = pair.split(':');
    if (ttl) ttls.set(id, Number(ttl));
    return {
      client_id: id,
      client_secret: secret,
      grant_types: ['client_credentials', TOKEN_EXCHANGE],
      redirect_uris: [],
      response_types: [],
      scope: scopes,
    };
  });

// Every http(s) URL is a resource server taking JWT access tokens for it.
function resourceServerInfo(resource, client) {
  return {
    scope: scopes,
    audience: resource,
    accessTokenTTL: ttls.get(client?.clientId) ?? tokenTtl,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: 'RS256' } },
  };
}

const provider = new Provider(issuer, {
  clients,
  jwks: { keys },
  scopes: scopes.split(' '),
  // An exchanged token names the client that acted for the subject (RFC 8693 `act`).
  extraTokenClaims: (ctx, token) => (token.gty === 'token_exchange'
    ? { act: { sub: token.clientId } }
    : undefined),
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource, client) => {
        if (!/^https?:\/\//.test(resource)) {
          throw new errors.InvalidTarget('resource must be an http(s) URL');
        }
        return resourceServerInfo(resource, client);
      },
    },
  },
});
provider.proxy = true;

// RFC 8693: the subject token must be a JWT access token this provider signed and still
// valid; the new token keeps its subject, names the exchanging client as actor and is for
// `resource` (or `audience`).
const localKeys = createLocalJWKSet(publicKeys);
provider.registerGrantType(
  TOKEN_EXCHANGE,
  async (ctx) => {
    const { client, params } = ctx.oidc;
    if (params.subject_token_type !== ACCESS_TOKEN_TYPE) {
      throw new errors.InvalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE}`);
    }
    let subject;
    try {
      ({ payload: subject } = await jwtVerify(params.subject_token, localKeys, { issuer }));
    } catch (error) {
      throw new errors.InvalidGrant(`subject_token is not valid: ${error.message}`);
    }
    const resource = params.resource ?? params.audience;
    if (!resource || !/^https?:\/\//.test(resource)) {
      throw new errors.InvalidTarget('resource (or audience) must be an http(s) URL');
    }
    const info = resourceServerInfo(resource, client);
    const offered = new Set(info.scope.split(' '));
    const granted = (params.scope ?? subject.scope ?? '')
      .split(' ')
      .filter((s) => offered.has(s))
      .join(' ');
    const token = new provider.AccessToken({
      accountId: String(subject.sub),
      client,
      grantId: `token-exchange:${subject.jti ?? subject.sub}`,
      gty: 'token_exchange',
      scope: granted || undefined,
    });
    token.resourceServer = new provider.ResourceServer(resource, info);
    const value = await token.save();
    ctx.body = {
      access_token: value,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      expires_in: token.expiration,
      scope: granted || undefined,
    };
  },
  ['subject_token', 'subject_token_type', 'resource', 'audience', 'scope',
    'requested_token_type', 'actor_token', 'actor_token_type'],
);

server.on('request', provider.callback());
process.stdout.write(`ready ${issuer}\n`);
