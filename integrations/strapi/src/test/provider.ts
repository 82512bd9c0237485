// A loopback OAuth 2.0 provider for the end-to-end tests: the test app
// registers it in users-permissions' providers registry as "e2e" (see
// e2e/app/src/index.js), and Strapi's own connect flow runs against it:
// authorize (302 back with a single-use code), token (code → access token,
// client secret checked) and userinfo (access token → the person).

import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';

/** Who signs in at the provider next; forged: the provider hands out a token its userinfo does not know. */
export type Account = { username: string; email: string } | 'forged';

export const CLIENT_ID = 'e2e-client';
export const CLIENT_SECRET = 'e2e-client-secret-0123456789';

/** Provider is the running loopback provider. */
export class Provider {
  private readonly queue: Account[] = [];
  private readonly codes = new Map<string, Account>();
  private readonly tokens = new Map<string, { username: string; email: string }>();
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  /** start listens on a free loopback port. */
  static async start(): Promise<Provider> {
    let self: Provider | undefined;
    const server = createServer((req, res) => self!.serve(req, res));
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const addr = server.address();
    self = new Provider(server, `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`);
    return self;
  }

  /** next makes a the account of the next sign-in. */
  next(a: Account): void {
    this.queue.push(a);
  }

  close(): Promise<void> {
    return new Promise((ok) => this.server.close(() => ok()));
  }

  private serve(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void {
    const u = new URL(req.url ?? '/', this.url);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (u.pathname === '/authorize') {
      const account = this.queue.shift();
      const redirect = u.searchParams.get('redirect_uri');
      if (!account || !redirect || u.searchParams.get('client_id') !== CLIENT_ID) return send(400, { error: 'invalid_request' });
      const code = randomBytes(16).toString('hex');
      this.codes.set(code, account);
      const back = new URL(redirect);
      back.searchParams.set('code', code);
      back.searchParams.set('state', u.searchParams.get('state') ?? '');
      res.writeHead(302, { location: back.toString() });
      res.end();
      return;
    }
    if (u.pathname === '/token' && req.method === 'POST') {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const f = new URLSearchParams(body);
        const code = f.get('code') ?? '';
        const account = this.codes.get(code);
        this.codes.delete(code); // single use
        if (!account || f.get('client_id') !== CLIENT_ID || f.get('client_secret') !== CLIENT_SECRET) return send(400, { error: 'invalid_grant' });
        const token = randomBytes(24).toString('base64url');
        if (account !== 'forged') this.tokens.set(token, account);
        send(200, { access_token: token, token_type: 'bearer' });
      });
      return;
    }
    if (u.pathname === '/userinfo') {
      const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
      const who = m ? this.tokens.get(m[1]!) : undefined;
      return who ? send(200, who) : send(401, { error: 'invalid_token' });
    }
    if (u.pathname === '/front-end') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<p>signed in at the provider</p>');
      return;
    }
    send(404, { error: 'not_found' });
  }
}
