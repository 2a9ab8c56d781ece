// A real OpenID Provider (oidc-provider 9) on 127.0.0.1 for Mirage's OIDC login tests.
//
//   node provider.mjs --redirect-uri URL [--port N] [--client-secret S]
//        [--auth-method client_secret_basic|client_secret_post] [--id-token-alg RS256|ES256]
//        [--sub SUB] [--email EMAIL]
//
// Prints one JSON line on stdout once it listens: {"issuer":"http://127.0.0.1:PORT"}.
// One confidential client `mirage-test` (PKCE required, code flow only), one account, fresh
// RS256 and ES256 signing keys per run, and oidc-provider's development interactions: a
// test logs in by posting `prompt=login&login=<sub>&password=...` and then `prompt=consent`
// to /interaction/<uid>. Only the configured account can log in. Never expose this beyond
// loopback: the development interactions accept any password.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'redirect-uri': { type: 'string' },
    'client-secret': { type: 'string', default: 'mirage-test-secret-0123456789abcdef' },
    'auth-method': { type: 'string', default: 'client_secret_basic' },
    'id-token-alg': { type: 'string', default: 'RS256' },
    sub: { type: 'string', default: 'test-user-0001' },
    email: { type: 'string', default: 'alice@example.test' },
  },
  strict: true,
});

if (!args['redirect-uri']) {
  process.stderr.write('provider.mjs: --redirect-uri is required\n');
  process.exit(2);
}

const port = Number.parseInt(args.port, 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`provider.mjs: bad --port ${args.port}\n`);
  process.exit(2);
}

function signingKey(kid, alg, type, options) {
  const jwk = generateKeyPairSync(type, options).privateKey.export({ format: 'jwk' });
  return { ...jwk, kid, alg, use: 'sig' };
}

const account = { sub: args.sub, email: args.email };

let handler = (_req, res) => {
  res.statusCode = 503;
  res.end();
};
const server = createServer((req, res) => handler(req, res));

server.listen(port, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'mirage-test',
        client_secret: args['client-secret'],
        redirect_uris: [args['redirect-uri']],
        response_types: ['code'],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: args['auth-method'],
        id_token_signed_response_alg: args['id-token-alg'],
      },
    ],
    jwks: {
      keys: [
        signingKey('rsa-1', 'RS256', 'rsa', { modulusLength: 2048 }),
        signingKey('ec-1', 'ES256', 'ec', { namedCurve: 'P-256' }),
      ],
    },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
    },
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: true },
    },
    async findAccount(_ctx, sub) {
      if (sub !== account.sub) {
        return undefined;
      }
      return {
        accountId: account.sub,
        async claims() {
          return { sub: account.sub, email: account.email, email_verified: true };
        },
      };
    },
  });
  handler = provider.callback();
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

server.on('error', (error) => {
  process.stderr.write(`provider.mjs: ${error.message}\n`);
  process.exit(1);
});

// The test harness may stop reading stdout after the issuer line: never die of EPIPE.
process.stdout.on('error', () => {});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
