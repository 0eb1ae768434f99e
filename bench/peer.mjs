// The peer of the token-endpoint benchmark (../shared/PEERS.md): npm `oidc-provider` 9.x serving
// client_credentials, with one EC P-256 signing key, JWT access tokens signed ES256 (feature
// resourceIndicators, accessTokenFormat 'jwt'), and two clients: one client_secret_post, one
// private_key_jwt (RS256, its public JWK registered). Run it with NODE_ENV=production.
//
//   node peer.mjs PORT RSA_PUBLIC_KEY.pem
//
// Prints one JSON line on stdout when ready: issuer, token endpoint, the clients and the secret.
import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const [portArg, rsaPublicPath] = process.argv.slice(2);
if (!portArg || !rsaPublicPath) {
  console.error('usage: node peer.mjs PORT RSA_PUBLIC_KEY.pem');
  process.exit(2);
}
const port = Number(portArg);
const issuer = `http://127.0.0.1:${port}`;
const resource = 'urn:portico:bench:api';
const scope = 'api';

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-es256', alg: 'ES256', use: 'sig' };
const rsaPublic = {
  ...createPublicKey(readFileSync(rsaPublicPath)).export({ format: 'jwk' }),
  kid: 'bench-rs256',
  alg: 'RS256',
  use: 'sig',
};
const secret = randomBytes(24).toString('base64url');

// id_token_signed_response_alg: the one signing key is EC, so the clients' (unused) ID token
// algorithm must be ES256 too.
const clientDefaults = {
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  scope,
  id_token_signed_response_alg: 'ES256',
};
const provider = new Provider(issuer, {
  jwks: { keys: [signingKey] },
  clients: [
    { ...clientDefaults, client_id: 'bench-secret-post', client_secret: secret, token_endpoint_auth_method: 'client_secret_post' },
    {
      ...clientDefaults,
      client_id: 'bench-private-key-jwt',
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'RS256',
      jwks: { keys: [rsaPublic] },
    },
  ],
  scopes: [scope],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope,
        audience: resource,
        accessTokenTTL: 24 * 3600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
  // The default adapter is oidc-provider's in-memory LRU (about 1,000 entries), which is also its
  // replay cache for client assertions.
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(
    JSON.stringify({
      service: 'oidc-provider',
      version: JSON.parse(readFileSync(new URL('./node_modules/oidc-provider/package.json', import.meta.url))).version,
      node: process.version,
      issuer,
      token_endpoint: `${issuer}/token`,
      secret_post_client: { client_id: 'bench-secret-post', client_secret: secret },
      private_key_jwt_client: { client_id: 'bench-private-key-jwt' },
      scope,
      pid: process.pid,
    }),
  );
});
server.keepAliveTimeout = 65_000;
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)) && setTimeout(() => process.exit(0), 1000).unref());
