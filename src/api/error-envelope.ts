import type { Context, Next } from 'koa';
import { BuildMeshError, type FieldProblem } from '../core/errors.js';
import type { Logger } from '../core/ports.js';

/** The one error body every route answers with. */
export interface ErrorEnvelope {
  error: string;
  message: string;
  traceId: string;
  timestamp: string;
  details: FieldProblem[] | string[];
}

const STATUS_BY_CODE: Record<string, { status: number; error: string }> = {
  ValidationFailed: { status: 400, error: 'Validation Failed' },
  BadRequest: { status: 400, error: 'Bad Request' },
  Unauthorized: { status: 401, error: 'Unauthorized' },
  Forbidden: { status: 403, error: 'Forbidden' },
  NotFound: { status: 404, error: 'Not Found' },
  MethodNotAllowed: { status: 405, error: 'Method Not Allowed' },
  Conflict: { status: 409, error: 'Conflict' },
  PayloadTooLarge: { status: 413, error: 'Payload Too Large' },
  UnsupportedMediaType: { status: 415, error: 'Unsupported Media Type' },
  ArtifactCorrupted: { status: 500, error: 'Artifact Corrupted' },
};

/** An HTTP-level failure that is not a domain error (unknown route, wrong method…). */
export class HttpError extends BuildMeshError {
  constructor(code: keyof typeof STATUS_BY_CODE, message: string) {
    super(code, message);
    this.name = 'HttpError';
  }
}

export function envelope(
  ctx: Context,
  error: string,
  message: string,
  details: ErrorEnvelope['details'] = [],
): ErrorEnvelope {
  return {
    error,
    message,
    traceId: String(ctx.state.traceId ?? ''),
    timestamp: new Date().toISOString(),
    details,
  };
}

/**
 * Translates every thrown error into the envelope, once. Domain errors map by `code`; anything
 * else is a 500 whose details stay in the node's log, never in the response.
 */
export function errorMiddleware(logger: Logger) {
  return async (ctx: Context, next: Next): Promise<void> => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new HttpError('NotFound', `No route for ${ctx.method} ${ctx.path}`);
      }
    } catch (error) {
      const mapped = error instanceof BuildMeshError ? STATUS_BY_CODE[error.code] : undefined;
      if (error instanceof BuildMeshError && mapped) {
        const problems = 'problems' in error ? (error.problems as FieldProblem[]) : [];
        ctx.status = mapped.status;
        const message =
          error.code === 'ValidationFailed' ? 'One or more validation errors occurred' : error.message;
        ctx.body = envelope(ctx, mapped.error, message, problems);
        if (mapped.status >= 500) logger.error('request failed', { path: ctx.path, error: error.message });
        return;
      }
      logger.error('unhandled error', {
        method: ctx.method,
        path: ctx.path,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      });
      ctx.status = 500;
      ctx.body = envelope(ctx, 'Internal Server Error', 'An unexpected error occurred');
    }
  };
}
