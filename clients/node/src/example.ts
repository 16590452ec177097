// The twofa API from Node.js, end to end against a running server:
//   1. BeginAuthenticatorSetup for a new user,
//   2. ConfirmAuthenticatorSetup with the code an authenticator app would show, computed
//      here from the returned base32 secret (RFC 6238 with node:crypto),
//   3. VerifyCode with the next time step's code (twofa accepts one step either side, and
//      the confirmation already used the current step), then the same code again
//      (CODE_REUSED: no code works twice),
//   4. the rich error model: INVALID_ARGUMENT with google.rpc.BadRequest field violations
//      (an empty user_id), and RESOURCE_EXHAUSTED with google.rpc.RetryInfo (BeginEmailSetup
//      twice inside the 60-second resend cooldown).
//
// Environment: TWOFA_TARGET (default 127.0.0.1:50051, or unix:///path), TWOFA_TENANT
// (default acme), TWOFA_USER (default a random node-example-… id), TWOFA_TOKEN_FILE (a file
// holding the bearer token, when the server sets auth.token_file).
// Exit status 0 when every step behaved as described, 1 otherwise.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { TwoFactorClient, TwoFactorError, toDate } from './client';
import { totp } from './totp';

function readToken(file: string): string {
  return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
}

function check(condition: boolean, what: string): void {
  if (!condition) {
    throw new Error(`unexpected: ${what}`);
  }
}

/** Runs `call`, which must fail; returns its TwoFactorError. */
async function expectError(call: () => Promise<unknown>): Promise<TwoFactorError> {
  try {
    await call();
  } catch (error) {
    if (error instanceof TwoFactorError) {
      return error;
    }
    throw error;
  }
  throw new Error('unexpected: the call succeeded');
}

async function main(): Promise<void> {
  const target = process.env['TWOFA_TARGET'] ?? '127.0.0.1:50051';
  const tenant_id = process.env['TWOFA_TENANT'] ?? 'acme';
  const user_id = process.env['TWOFA_USER'] ?? `node-example-${randomBytes(4).toString('hex')}`;
  const tokenFile = process.env['TWOFA_TOKEN_FILE'];
  const client = new TwoFactorClient(target, {
    token: tokenFile ? readToken(tokenFile) : undefined,
    timeoutMs: 10_000,
  });
  console.log(`twofa at ${target}, tenant ${tenant_id}, user ${user_id}`);
  try {
    // 1. A new pending secret. Show setup.qr_png or setup.qr_svg to the user; the secret
    //    is for manual entry. (Printed here by length only: it is a secret.)
    const setup = await client.beginAuthenticatorSetup({
      tenant_id,
      user_id,
      account_name: `${user_id}@example.com`,
      issuer: 'Node example',
    });
    console.log(
      `BeginAuthenticatorSetup: secret of ${setup.secret.length} base32 characters, ` +
        `QR code ${setup.qr_png.length} PNG bytes, expires ${toDate(setup.expires_at)?.toISOString()}`,
    );

    // 2. The user's app shows the current step's code; confirm it.
    const confirmed = await client.confirmAuthenticatorSetup({
      tenant_id,
      user_id,
      code: totp(setup.secret, Date.now() / 1000),
    });
    console.log(
      `ConfirmAuthenticatorSetup: result=${confirmed.result} reason=${confirmed.reason} ` +
        `backup_codes=${confirmed.backup_codes.length}`,
    );
    check(confirmed.result === 'VERIFY_RESULT_ACCEPTED', 'the confirmation was not accepted');

    // 3. At the next login: the confirmation used the current step, so use the next one's
    //    code (inside twofa's window of one step either side) instead of waiting 30 s.
    const code = totp(setup.secret, Date.now() / 1000, 1);
    const verified = await client.verifyCode({
      tenant_id,
      user_id,
      code,
      method: 'METHOD_AUTHENTICATOR_APP',
    });
    console.log(
      `VerifyCode: result=${verified.result} reason=${verified.reason} ` +
        `method=${verified.method} attempts_remaining=${verified.attempts_remaining}`,
    );
    check(verified.result === 'VERIFY_RESULT_ACCEPTED', 'the code was not accepted');
    // A wrong or replayed code is an answer, not an error.
    const replayed = await client.verifyCode({ tenant_id, user_id, code });
    console.log(`VerifyCode (same code again): result=${replayed.result} reason=${replayed.reason}`);
    check(replayed.reason === 'VERIFY_REASON_CODE_REUSED', 'the replayed code was not refused');

    // 4a. Malformed input: INVALID_ARGUMENT, and BadRequest names the field.
    const invalid = await expectError(() => client.getUserStatus({ tenant_id, user_id: '' }));
    console.log(`GetUserStatus with an empty user_id: ${invalid.message}`);
    for (const violation of invalid.fieldViolations) {
      console.log(`  BadRequest field_violation: field=${violation.field} description=${violation.description}`);
    }
    check(invalid.codeName === 'INVALID_ARGUMENT', 'not INVALID_ARGUMENT');
    check(invalid.fieldViolations.some((v) => v.field === 'user_id'), 'no violation names user_id');

    // 4b. A second email code inside the resend cooldown: RESOURCE_EXHAUSTED + RetryInfo.
    const email = `${user_id}@example.com`;
    const sent = await client.beginEmailSetup({ tenant_id, user_id, email });
    console.log(
      `BeginEmailSetup: code sent to ${sent.masked_email}, ` +
        `next one from ${toDate(sent.resend_available_at)?.toISOString()}`,
    );
    const tooSoon = await expectError(() => client.beginEmailSetup({ tenant_id, user_id, email }));
    console.log(`BeginEmailSetup again: ${tooSoon.message}`);
    const delayMs = tooSoon.retryDelayMs;
    console.log(`  RetryInfo retry_delay=${delayMs === undefined ? 'none' : (delayMs / 1000).toFixed(3)}s`);
    const info = tooSoon.richStatus?.errorInfo;
    if (info !== undefined) {
      console.log(`  ErrorInfo reason=${info.reason} domain=${info.domain}`);
    }
    check(tooSoon.codeName === 'RESOURCE_EXHAUSTED', 'not RESOURCE_EXHAUSTED');
    check(delayMs !== undefined && delayMs > 0, 'no positive RetryInfo.retry_delay');
    console.log('node example: every step behaved as documented');
  } finally {
    client.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
