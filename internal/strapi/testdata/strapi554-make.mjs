// Run against a fresh Strapi 5.54 app (see strapi554.sql) with
//   config/plugins.js: users-permissions { jwtManagement: "refresh", sessions: { httpOnly: false,
//     maxRefreshTokenLifespan: 3155760000, idleRefreshTokenLifespan: 3155760000 } },
//   "refresh-token": { refreshTokenExpiresIn: "36500d", refreshTokenSecret: env("REFRESH_JWT_SECRET"),
//     refreshTokenRotation: true, cookieResponse: false, requestRefreshOnAll: false }
// and the user extension the plugin README asks for (a refresh_tokens relation):
//   node strapi554-make.mjs PORT > tokens.json
const base = `http://127.0.0.1:${process.argv[2]}`;
const post = async (path, body, headers = {}) => {
  const r = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0', ...headers }, body: JSON.stringify(body) });
  const text = await r.text();
  let j; try { j = JSON.parse(text); } catch { j = text; }
  return { status: r.status, body: j };
};
const out = {};
for (const [u, pw] of [['alice', 'alice-strapi-pw'], ['bob', 'bob-strapi-pw'], ['carol', 'carol-strapi-pw'], ['dave', 'dave-strapi-pw']]) {
  const r = await post('/api/auth/local/register', { username: u, email: `${u}@example.com`, password: pw });
  if (r.status !== 200) throw new Error(`register ${u}: ${r.status} ${JSON.stringify(r.body)}`);
  out[u] = { id: r.body.user.id };
}
const login = (u, extra = {}) => post('/api/auth/local', { identifier: u, password: `${u}-strapi-pw`, ...extra });
// alice: a Strapi 5 session (with a device) and a refresh-token plugin token.
let r = await login('alice', { deviceId: 'alice-laptop' });
out.alice.session = r.body.refreshToken;
r = await login('alice', { requestRefresh: true });
out.alice.plugin = r.body.refreshToken;
// bob: a session refreshed once in Strapi: the first token is rotated, the second live.
r = await login('bob');
out.bob.sessionRotated = r.body.refreshToken;
r = await post('/api/auth/refresh', { refreshToken: out.bob.sessionRotated });
if (r.status !== 200) throw new Error(`refresh: ${r.status} ${JSON.stringify(r.body)}`);
out.bob.session = r.body.refreshToken;
out.bob.accessJwt = r.body.jwt;
// carol: a session logged out in Strapi (its row deleted).
r = await login('carol');
out.carol.sessionLoggedOut = r.body.refreshToken;
r = await post('/api/auth/logout', { refreshToken: out.carol.sessionLoggedOut }, { authorization: `Bearer ${r.body.jwt}` });
if (r.status !== 200) throw new Error(`logout: ${r.status} ${JSON.stringify(r.body)}`);
// carol again: a session that will be made expired in the database.
r = await login('carol');
out.carol.sessionExpired = r.body.refreshToken;
// dave: a plugin token refreshed once (rotation on): the first row deleted.
r = await login('dave', { requestRefresh: true });
out.dave.pluginRotated = r.body.refreshToken;
r = await post('/api/auth/local/refresh', { refreshToken: out.dave.pluginRotated });
if (r.status !== 200) throw new Error(`plugin refresh: ${r.status} ${JSON.stringify(r.body)}`);
out.dave.plugin = r.body.refreshToken;
out.dave.pluginAnswer = Object.keys(r.body);
console.log(JSON.stringify(out, null, 2));
