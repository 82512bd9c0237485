import assert from "node:assert/strict";
import { test } from "node:test";
import { claimsOf, expiryOf } from "./jwt.js";

const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");

test("claimsOf reads exp and iat, whatever else the payload holds", () => {
  const t = `${enc({ alg: "EdDSA" })}.${enc({ iat: 1000, exp: 1900, name: "Adá 🙂", pad: "x".repeat(7) })}.sig`;
  assert.deepEqual(claimsOf(t), { iat: 1000, exp: 1900 });
  for (const bad of ["", "a.b", "a.!!!.c", `${enc({})}.${enc({ exp: "soon" })}.s`]) {
    assert.equal(claimsOf(bad).exp, undefined, bad);
  }
});

test("expiryOf measures the lifetime on the local clock, a second short", () => {
  // A server clock an hour ahead changes nothing: exp - iat is what counts.
  const iat = Math.floor(Date.now() / 1000) + 3600;
  const t = `${enc({})}.${enc({ iat, exp: iat + 900 })}.s`;
  assert.equal(expiryOf(t, 5_000), 5_000 + 899_000);
  assert.equal(expiryOf(`${enc({})}.${enc({})}.s`, 5_000), 65_000);
});
