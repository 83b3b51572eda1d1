// An agent talking to the proxy's agent API over plain HTTP, signed in with an HS256
// JWT minted here with the demo identity secret (as the host's backend would).
import { createHmac } from 'node:crypto';
import { DEMO } from './harness.mjs';

const b64url = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** An HS256 JWT, as the host's backend mints it for an agent. */
export function agentJwt(sub, name) {
  const head = b64url({ alg: 'HS256', typ: 'JWT' });
  const body = b64url({ sub, name, role: 'agent', exp: Math.floor(Date.now() / 1000) + 600 });
  const sig = createHmac('sha256', DEMO.DEMO_IDENTITY_SECRET).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

/** Signs in an agent at `base`; returns `call(method, path, body?)` → parsed JSON. */
export async function signInAgent(base, sub, name) {
  const call = async (method, path, body, token) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  const { token } = await call('POST', '/v1/agent/session', { jwt: agentJwt(sub, name) });
  return (method, path, body) => call(method, path, body, token);
}
