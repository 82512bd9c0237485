// Unit tests of the provider sign-in's pure parts: which requests it
// answers, and that a provider's answer signs in once.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { providerOf, Used } from '../server/signin';

test('providerOf answers provider callbacks only', () => {
  for (const [method, path, want] of [
    ['GET', '/api/auth/github/callback', 'github'],
    ['GET', '/api/auth/github/callback/', 'github'],
    ['GET', '/api/auth/my%20idp/callback', 'my idp'],
    ['GET', '/api/auth/local/callback', undefined], // Strapi's local login is forwarded, not a provider
    ['POST', '/api/auth/github/callback', undefined],
    ['GET', '/api/connect/github/callback', undefined], // Strapi's own step of the flow
    ['GET', '/api/auth/github', undefined],
    ['GET', '/api/auth/%E0%A4%A/callback', undefined], // not decodable
    ['GET', '/api/auth/a/b/callback', undefined],
  ] as const) {
    assert.equal(providerOf(method, path), want, `${method} ${path}`);
  }
});

test('Used admits each token once, for its lifetime', () => {
  let now = 1_000;
  const used = new Used(10_000, () => now);
  assert.equal(used.first('token-a'), true);
  assert.equal(used.first('token-a'), false, 'the same token again');
  assert.equal(used.first('token-b'), true);
  now += 9_999;
  assert.equal(used.first('token-a'), false, 'still within its lifetime');
  now += 1;
  assert.equal(used.first('token-a'), true, 'a session cookie this old is refused by Strapi anyway');
});
