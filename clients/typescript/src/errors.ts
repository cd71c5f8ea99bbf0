// One error type for every way a call can fail: the API's problem details (their stable `code`),
// API Gateway's own 401/403 answers, and what happens before an answer (network, a cancelled
// passkey prompt).
import type { ErrorCode, Problem } from './api.js';

/**
 * The API's codes, plus the client's own: `unauthorized` / `forbidden` (API Gateway's answers
 * without problem details), `network_error` (no answer), `invalid_response` (an answer that is
 * not the API's), `passkey_cancelled` (the browser's prompt was dismissed), `signed_out` (no
 * session to call with).
 */
export type AuthErrorCode =
  | ErrorCode
  | 'unauthorized'
  | 'network_error'
  | 'invalid_response'
  | 'passkey_cancelled'
  | 'signed_out';

export interface FieldProblem {
  field: string;
  message: string;
  code?: string;
}

export class AuthError extends Error {
  override readonly name = 'AuthError';
  /** HTTP status, 0 when no answer came. */
  readonly status: number;
  readonly code: AuthErrorCode;
  /** The problem details as the API sent them (with members such as `mfa_token`). */
  readonly problem: (Problem & Record<string, unknown>) | null;
  /** Seconds from `Retry-After`, on 429 and 503. */
  readonly retryAfter: number | null;

  constructor(
    status: number,
    code: AuthErrorCode,
    message: string,
    problem: (Problem & Record<string, unknown>) | null = null,
    retryAfter: number | null = null,
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.problem = problem;
    this.retryAfter = retryAfter;
  }

  /** The fields at fault, with `validation_failed`. */
  get fields(): FieldProblem[] {
    return Array.isArray(this.problem?.errors) ? (this.problem.errors as FieldProblem[]) : [];
  }

  /** The answer of a failed call, read once. */
  static async from(response: Response): Promise<AuthError> {
    const text = await response.text().catch(() => '');
    const retry = Number.parseInt(response.headers.get('retry-after') ?? '', 10);
    const retryAfter = Number.isFinite(retry) ? retry : null;
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    if (isProblem(body)) {
      const message = [body.title, body.detail].filter(Boolean).join(': ');
      return new AuthError(response.status, body.code, message, body, retryAfter);
    }
    if (response.status === 401) return new AuthError(401, 'unauthorized', 'Unauthorized', null, retryAfter);
    if (response.status === 403) return new AuthError(403, 'forbidden', 'Forbidden', null, retryAfter);
    const code = response.status === 503 ? 'unavailable' : 'invalid_response';
    return new AuthError(response.status, code, `HTTP ${response.status}`, null, retryAfter);
  }
}

function isProblem(body: unknown): body is Problem & Record<string, unknown> {
  return typeof body === 'object' && body !== null && typeof (body as { code?: unknown }).code === 'string';
}

/** Whether an answer is API Gateway's own (the authorizer's), not a handler's problem details. */
export function fromAuthorizer(response: Response): boolean {
  return (
    (response.status === 401 || response.status === 403) &&
    !(response.headers.get('content-type') ?? '').includes('problem+json')
  );
}
