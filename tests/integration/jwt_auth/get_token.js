// Gets an access token from a Portico identity service with the real client library of the
// commercial identity service, npm `@adobe/jwt-auth` 2.0.0, exactly as its users call it.
//
// Input (environment): PORTICO_IMS (the service's base URL), CLIENT_ID, CLIENT_SECRET,
// TECHNICAL_ACCOUNT_ID, ORG_ID, PRIVATE_KEY_FILE (PEM of the key whose certificate the credential
// holds), METASCOPES (comma-separated; default ent_portal_sdk).
// Output: one JSON line on stdout, the library's answer ({access_token, token_type, expires_in})
// and exit 0; or {"error", "error_description"} and exit 1.
//
// What the library does (node_modules/@adobe/jwt-auth/index.js, 2.0.0): builds the claims
// {exp: now + 300, iss: orgId, sub: technicalAccountId, aud: `${ims}/c/${clientId}`,
// `${ims}/s/${scope}`: true} (a scope containing "https" is used as the whole key), signs them
// RS256 with jsonwebtoken (which adds iat), and POSTs client_id, client_secret and jwt_token as
// multipart/form-data (the form-data package) to `${ims}/ims/exchange/jwt/` — with the trailing
// slash — through node-fetch. Any answer but 200 with an access_token becomes an Error whose
// message is the error_description and whose code is the error.
'use strict';

const fs = require('fs');
const auth = require('@adobe/jwt-auth');

async function main() {
  const env = process.env;
  const result = await auth({
    clientId: env.CLIENT_ID,
    clientSecret: env.CLIENT_SECRET,
    technicalAccountId: env.TECHNICAL_ACCOUNT_ID,
    orgId: env.ORG_ID,
    metaScopes: (env.METASCOPES || 'ent_portal_sdk').split(','),
    privateKey: fs.readFileSync(env.PRIVATE_KEY_FILE, 'utf8'),
    ims: env.PORTICO_IMS,
  });
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((e) => {
  process.stdout.write(
    JSON.stringify({ error: String(e.code || 'error'), error_description: String(e.message) }) +
      '\n'
  );
  process.exit(1);
});
